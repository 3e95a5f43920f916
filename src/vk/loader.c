/* loader.c: reaching Vulkan (volk), the instance, the validation layer, device enumeration and choice.
 *
 * A machine without a Vulkan loader or without a driver gets TLV_ERR_NO_DEVICE and a message with a
 * hint, never a crash: volk dlopen()s the loader at run time, so the library starts without it. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "vk/internal.h"

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

#if defined(__ANDROID__)
#define DRIVER_HINT "this device has no Vulkan driver"
#elif defined(__linux__)
#define DRIVER_HINT "on Linux install a Vulkan driver, e.g. mesa-vulkan-drivers (and libvulkan1)"
#else
#define DRIVER_HINT "install your GPU vendor's driver with Vulkan support"
#endif

tlv_status tlv__vk_check(VkResult r, tlv_err *err, const char *what)
{
    if (r == VK_SUCCESS) return TLV_OK;
    tlv_status st = TLV_ERR_DEVICE;
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY) st = TLV_ERR_DEVICE_MEMORY;
    if (r == VK_ERROR_OUT_OF_HOST_MEMORY) st = TLV_ERR_NO_MEMORY;
    const char *name = "error";
    switch (r) {
    case VK_ERROR_OUT_OF_HOST_MEMORY: name = "out of host memory"; break;
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: name = "out of device memory"; break;
    case VK_ERROR_INITIALIZATION_FAILED: name = "initialization failed"; break;
    case VK_ERROR_DEVICE_LOST: name = "device lost"; break;
    case VK_ERROR_LAYER_NOT_PRESENT: name = "layer not present"; break;
    case VK_ERROR_EXTENSION_NOT_PRESENT: name = "extension not present"; break;
    case VK_ERROR_FEATURE_NOT_PRESENT: name = "feature not present"; break;
    case VK_ERROR_INCOMPATIBLE_DRIVER: name = "incompatible driver"; break;
    case VK_ERROR_TOO_MANY_OBJECTS: name = "too many objects"; break;
    case VK_TIMEOUT: name = "timeout"; break;
    default: break;
    }
    return tlv__err_set(err, st, "%s failed: %s (VkResult %d)", what, name, (int)r);
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_debug_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                       VkDebugUtilsMessageTypeFlagsEXT types,
                                                       const VkDebugUtilsMessengerCallbackDataEXT *data,
                                                       void *user)
{
    tlv_vk_instance *inst = user;
    (void)types;
    tlv_log_level level = TLV_LOG_DEBUG;
    if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) level = TLV_LOG_ERROR;
    else if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) level = TLV_LOG_WARN;
    if (level <= TLV_LOG_WARN) {
        __atomic_add_fetch(&inst->n_validation, 1, __ATOMIC_RELAXED);
        /* Route to the log callback; without one, validation problems still reach stderr-less
         * callers through tlv__vk_instance_validation_count(). */
    }
    tlv__log(inst->log, level, "vulkan validation: %s", data && data->pMessage ? data->pMessage : "(no message)");
    return VK_FALSE;
}

static int has_layer(const VkLayerProperties *layers, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(layers[i].layerName, name)) return 1;
    return 0;
}

static int has_ext(const VkExtensionProperties *exts, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(exts[i].extensionName, name)) return 1;
    return 0;
}

static int env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

void tlv__vk_instance_destroy(tlv_vk_instance *inst)
{
    if (!inst) return;
    if (inst->messenger && vkDestroyDebugUtilsMessengerEXT)
        vkDestroyDebugUtilsMessengerEXT(inst->instance, inst->messenger, NULL);
    if (inst->instance) vkDestroyInstance(inst->instance, NULL);
    tlv__free(inst->alloc, inst->phys);
    tlv__free(inst->alloc, inst->caps);
    tlv__free(inst->alloc, inst);
}

tlv_status tlv__vk_instance_create(const tlv_vk_instance_options *o, tlv_vk_instance **out, tlv_err *err)
{
    *out = NULL;
    const tlv_allocator *a = o ? o->alloc : NULL;
    tlv_status st = TLV_OK;
    VkLayerProperties *layers = NULL;
    VkExtensionProperties *exts = NULL;

    if (volkInitialize() != VK_SUCCESS)
        return tlv__err_set(err, TLV_ERR_NO_DEVICE,
                            "no Vulkan driver found: the Vulkan loader (libvulkan) could not be loaded; %s",
                            DRIVER_HINT);

    tlv_vk_instance *inst = tlv__calloc(a, 1, sizeof *inst);
    if (!inst) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory creating the Vulkan instance");
    inst->alloc = a;
    inst->log = o ? o->log : NULL;
    inst->validation = (o && o->validation) || env_flag("TLV_VALIDATION");

    uint32_t loader_version = VK_API_VERSION_1_0;
    if (vkEnumerateInstanceVersion) vkEnumerateInstanceVersion(&loader_version);
    if (VK_API_VERSION_MINOR(loader_version) < 1 && VK_API_VERSION_MAJOR(loader_version) == 1) {
        st = tlv__err_set(err, TLV_ERR_NO_DEVICE, "no Vulkan driver found: the Vulkan loader is version 1.%u, 1.1 is needed",
                          VK_API_VERSION_MINOR(loader_version));
        goto fail;
    }
    inst->api_version = loader_version > VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : loader_version;

    uint32_t n_layers = 0, n_exts = 0;
    vkEnumerateInstanceLayerProperties(&n_layers, NULL);
    layers = tlv__calloc(a, n_layers + 1, sizeof *layers);
    vkEnumerateInstanceExtensionProperties(NULL, &n_exts, NULL);
    exts = tlv__calloc(a, n_exts + 1, sizeof *exts);
    if (!layers || !exts) {
        st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory creating the Vulkan instance");
        goto fail;
    }
    vkEnumerateInstanceLayerProperties(&n_layers, layers);
    vkEnumerateInstanceExtensionProperties(NULL, &n_exts, exts);

    const char *enabled_layers[1];
    uint32_t n_enabled_layers = 0;
    const char *enabled_exts[4];
    uint32_t n_enabled_exts = 0;
    int debug_utils = 0;
    if (inst->validation) {
        if (!has_layer(layers, n_layers, VALIDATION_LAYER)) {
            st = tlv__err_set(err, TLV_ERR_UNSUPPORTED,
                              "Vulkan validation was requested but %s is not installed (Debian/Ubuntu: vulkan-validationlayers)",
                              VALIDATION_LAYER);
            goto fail;
        }
        enabled_layers[n_enabled_layers++] = VALIDATION_LAYER;
        /* The layer provides VK_EXT_debug_utils itself. */
        enabled_exts[n_enabled_exts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
        debug_utils = 1;
    }
    VkInstanceCreateFlags flags = 0;
#ifdef VK_KHR_portability_enumeration
    if (has_ext(exts, n_exts, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
        /* MoltenVK and other portability drivers are listed only when asked for. */
        enabled_exts[n_enabled_exts++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
        flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
    }
#endif

    VkApplicationInfo app = {VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.pApplicationName = "tinyllava-vk";
    app.pEngineName = "tinyllava-vk";
    app.apiVersion = inst->api_version;

    VkDebugUtilsMessengerCreateInfoEXT dbg = {VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    dbg.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    dbg.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                      VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    dbg.pfnUserCallback = on_debug_message;
    dbg.pUserData = inst;

    /* Synchronization validation checks that stream.c's barriers are enough. */
    VkValidationFeatureEnableEXT sync_feature = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    VkValidationFeaturesEXT vfeatures = {VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
    vfeatures.enabledValidationFeatureCount = 1;
    vfeatures.pEnabledValidationFeatures = &sync_feature;
    vfeatures.pNext = &dbg;

    VkInstanceCreateInfo ci = {VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ci.flags = flags;
    ci.pApplicationInfo = &app;
    ci.enabledLayerCount = n_enabled_layers;
    ci.ppEnabledLayerNames = enabled_layers;
    ci.enabledExtensionCount = n_enabled_exts;
    ci.ppEnabledExtensionNames = enabled_exts;
    if (debug_utils) ci.pNext = env_flag("TLV_VALIDATION_NO_SYNC") ? (const void *)&dbg : (const void *)&vfeatures;

    VkResult r = vkCreateInstance(&ci, NULL, &inst->instance);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED) {
        st = tlv__err_set(err, TLV_ERR_NO_DEVICE, "no Vulkan driver found (vkCreateInstance: %d); %s", (int)r, DRIVER_HINT);
        goto fail;
    }
    if ((st = tlv__vk_check(r, err, "vkCreateInstance"))) goto fail;
    volkLoadInstanceOnly(inst->instance);

    if (debug_utils && vkCreateDebugUtilsMessengerEXT) {
        r = vkCreateDebugUtilsMessengerEXT(inst->instance, &dbg, NULL, &inst->messenger);
        if ((st = tlv__vk_check(r, err, "vkCreateDebugUtilsMessengerEXT"))) goto fail;
    }

    uint32_t n = 0;
    r = vkEnumeratePhysicalDevices(inst->instance, &n, NULL);
    if (r != VK_SUCCESS || n == 0) {
        st = tlv__err_set(err, TLV_ERR_NO_DEVICE, "no Vulkan driver found: the Vulkan loader lists no device; %s", DRIVER_HINT);
        goto fail;
    }
    VkPhysicalDevice *all = tlv__calloc(a, n, sizeof *all);
    inst->phys = tlv__calloc(a, n, sizeof *inst->phys);
    inst->caps = tlv__calloc(a, n, sizeof *inst->caps);
    if (!all || !inst->phys || !inst->caps) {
        tlv__free(a, all);
        st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory enumerating Vulkan devices");
        goto fail;
    }
    vkEnumeratePhysicalDevices(inst->instance, &n, all);
    for (uint32_t i = 0; i < n; i++) {
        VkPhysicalDeviceProperties props;
        vkGetPhysicalDeviceProperties(all[i], &props);
        if (props.apiVersion < VK_API_VERSION_1_1) {
            tlv__log(inst->log, TLV_LOG_WARN, "skipping Vulkan device '%s': API 1.%u, 1.1 is needed", props.deviceName,
                     VK_API_VERSION_MINOR(props.apiVersion));
            continue;
        }
        inst->phys[inst->n_phys] = all[i];
        tlv__vk_caps_query(all[i], inst->api_version, &inst->caps[inst->n_phys]);
        inst->n_phys++;
    }
    tlv__free(a, all);
    if (inst->n_phys == 0) {
        st = tlv__err_set(err, TLV_ERR_NO_DEVICE, "no Vulkan 1.1 device found; %s", DRIVER_HINT);
        goto fail;
    }
    tlv__free(a, layers);
    tlv__free(a, exts);
    *out = inst;
    return TLV_OK;

fail:
    tlv__free(a, layers);
    tlv__free(a, exts);
    tlv__vk_instance_destroy(inst);
    return st;
}

uint32_t tlv__vk_instance_device_count(const tlv_vk_instance *inst)
{
    return inst ? inst->n_phys : 0;
}

const tlv_vk_caps *tlv__vk_instance_caps(const tlv_vk_instance *inst, uint32_t i)
{
    return inst && i < inst->n_phys ? &inst->caps[i] : NULL;
}

uint32_t tlv__vk_instance_validation_count(const tlv_vk_instance *inst)
{
    return inst ? __atomic_load_n(&inst->n_validation, __ATOMIC_RELAXED) : 0;
}

int tlv__vk_instance_validation_enabled(const tlv_vk_instance *inst)
{
    return inst ? inst->validation : 0;
}

static int type_rank(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
    default: return 4;
    }
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == n) return 1;
    }
    return n == 0;
}

tlv_status tlv__vk_instance_pick(const tlv_vk_instance *inst, const char *spec, uint32_t *index, tlv_err *err)
{
    if (!spec || !*spec) spec = getenv("TLV_DEVICE");
    if (spec && *spec) {
        char *end = NULL;
        long v = strtol(spec, &end, 10);
        if (end && *end == 0) {
            if (v < 0 || (uint32_t)v >= inst->n_phys)
                return tlv__err_set(err, TLV_ERR_NOT_FOUND, "device %ld does not exist (%u device%s found)", v,
                                    inst->n_phys, inst->n_phys == 1 ? "" : "s");
            *index = (uint32_t)v;
            return TLV_OK;
        }
        for (uint32_t i = 0; i < inst->n_phys; i++) {
            if (contains_nocase(inst->caps[i].device_name, spec)) {
                *index = i;
                return TLV_OK;
            }
        }
        return tlv__err_set(err, TLV_ERR_NOT_FOUND, "no Vulkan device name contains '%s' (try `tinyllava devices`)", spec);
    }
    uint32_t best = 0;
    for (uint32_t i = 1; i < inst->n_phys; i++)
        if (type_rank(inst->caps[i].type) < type_rank(inst->caps[best].type)) best = i;
    *index = best;
    return TLV_OK;
}
