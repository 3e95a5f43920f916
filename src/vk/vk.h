/* vk.h: the Vulkan device layer, as the rest of the library sees it.
 *
 * Objects, each owning what is listed under it:
 *
 *   tlv_vk_instance   VkInstance (+ debug messenger when validation is on), the physical devices
 *   tlv_vk_device     VkDevice, one compute queue, its capability record (caps.c, with the quirk
 *                     table's verdicts, quirks.c, and the tuning record, tuning.c), memory blocks
 *                     (memory.c), pipelines + persistent VkPipelineCache (pipeline.c)
 *   tlv_stream        a command buffer, its descriptor pools and timestamp queries (stream.c)
 *
 * Loading: Vulkan is reached through volk (loader.c): no link-time libvulkan, nothing in static
 * initialisers. volk keeps the loader's entry points (vkGetInstanceProcAddr and the global
 * functions) in its own process-wide pointers; they are written once with the same values by
 * whichever context loads first and are never mutated afterwards. Instance-level functions come
 * from volkLoadInstanceOnly; every device call goes through the device's own VolkDeviceTable, so
 * several devices can live in one process (STYLE.md "No process-global state").
 *
 * Threads: a tlv_vk_device may be shared by threads (each with its own tlv_stream): pipeline
 * creation, memory allocation and queue submission are serialised by the device's mutex.
 * A tlv_stream belongs to one thread at a time.
 *
 * Errors: every function returns tlv_status and writes a message into tlv_err. A stream records
 * its first error (sticky, as SQLite's mallocFailed): later records do nothing and the submit
 * returns it, so a graph function needs no check after every op. */
#ifndef TLV_VK_VK_H
#define TLV_VK_VK_H

#include <stddef.h>
#include <stdint.h>

#include <volk.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/log.h"
#include "vk/tuning.h"

/* ------------------------------------------------------------------------------------------
 * Capability record (caps.c), filled once by tlv__vk_caps_query, then const: what the device
 * can do (queried), what the runtime will use of it (policy, after the quirk table: what is
 * broken), and the tuning record (tune: what is fastest). Nothing else calls
 * vkGetPhysicalDevice* for features or reads TLV_* environment switches. */

enum {
    TLV_SUBGROUP_BASIC = 1u << 0,
    TLV_SUBGROUP_VOTE = 1u << 1,
    TLV_SUBGROUP_ARITH = 1u << 2,
    TLV_SUBGROUP_BALLOT = 1u << 3,
    TLV_SUBGROUP_SHUFFLE = 1u << 4,
    TLV_SUBGROUP_CLUSTERED = 1u << 5
};

/* Texel-buffer view formats (tlv_vk_binding.texel, caps.texel_formats as 1u << format). */
typedef enum tlv_vk_texel {
    TLV_TEXEL_NONE = 0,    /* a storage buffer */
    TLV_TEXEL_RGBA32UI = 1, /* uniform texel buffer, VK_FORMAT_R32G32B32A32_UINT: 16 bytes a texel (usamplerBuffer) */
    TLV_TEXEL_R32UI = 2    /* uniform texel buffer, VK_FORMAT_R32_UINT: 4 bytes a texel */
} tlv_vk_texel;

typedef struct tlv_vk_caps {
    /* identity */
    char device_name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
    char driver_name[VK_MAX_DRIVER_NAME_SIZE];
    char driver_info[VK_MAX_DRIVER_INFO_SIZE];
    uint32_t vendor_id, device_id, driver_id; /* driver_id: VkDriverId, 0 if unknown */
    uint32_t driver_version, api_version;
    VkPhysicalDeviceType type;
    uint8_t pipeline_cache_uuid[VK_UUID_SIZE];

    /* what the driver reports */
    int fp16_storage;  /* storageBuffer16BitAccess */
    int fp16_arith;    /* shaderFloat16 */
    int int8_storage;  /* storageBuffer8BitAccess */
    int int8_arith;    /* shaderInt8 */
    uint32_t subgroup_size;
    uint32_t subgroup_ops;        /* TLV_SUBGROUP_* usable in compute shaders */
    int subgroup_size_control;    /* VK_EXT_subgroup_size_control with compute stage */
    uint32_t min_subgroup_size, max_subgroup_size;
    uint32_t max_shared_bytes;
    uint32_t max_storage_range;   /* maxStorageBufferRange */
    uint64_t max_alloc_bytes;     /* maxMemoryAllocationSize */
    uint32_t max_storage_buffers; /* maxPerStageDescriptorStorageBuffers */
    uint32_t max_push_bytes;
    uint32_t max_wg_invocations;
    uint32_t max_wg_size[3], max_wg_count[3];
    uint32_t min_storage_align;   /* minStorageBufferOffsetAlignment */
    uint32_t max_texel_elements;  /* maxTexelBufferElements (texels one buffer view may span) */
    uint32_t min_texel_align;     /* minTexelBufferOffsetAlignment */
    uint32_t max_texel_buffers;   /* maxPerStageDescriptorSampledImages (uniform texel buffers count there) */
    uint32_t texel_formats;       /* TLV_TEXEL_* bits: formats usable as uniform texel buffers */
    uint32_t queue_family;        /* the compute queue family we use (compute-only preferred) */
    int timestamps;               /* the compute queue has timestampValidBits != 0 */
    uint32_t timestamp_bits;
    float timestamp_period_ns;
    int coopmat;                  /* VK_KHR_cooperative_matrix */
    int int_dot;                  /* VK_KHR_shader_integer_dot_product, 4x8 signed accelerated */
    int uma;                      /* integrated/CPU: device-local memory is host-visible */
    uint64_t device_local_bytes;

    /* policy: what the runtime will use, after the quirk table and TLV_* switches */
    int use_fp16;       /* fp16 arithmetic paths (not used by the f32 kernels) */
    int use_subgroups;  /* subgroup reductions; else shared-memory reductions */
    uint32_t storage_range_limit; /* bytes one binding may span (<= max_storage_range); TLV_MAX_STORAGE_RANGE */
    int use_texel;      /* ops read weights through uniform texel buffers where they can: where the
                           tuning row wants them (lavapipe: gathers, storage loads per-lane loops)
                           and RGBA32UI texel buffers exist; quirks; TLV_DISABLE_TEXEL=1 /
                           TLV_ENABLE_TEXEL=1; mirrored in tune.texel, which ops read */
    uint32_t max_loop_iterations; /* loop iterations one invocation may run, all loops together, before
                                     the driver silently stops it (quirk table); 0 = unlimited */
    char quirks[256];   /* what the quirk table and switches changed, "" if nothing */

    /* what is fastest here (tuning.h): the tuning table's row for this device, fitted to the
     * capabilities and policy above, then the TLV_TUNE_* switches. Ops read this, never `type`. */
    tlv_vk_tuning tune;
} tlv_vk_caps;

/* One-line banner: "llvmpipe (LLVM 15.0.6, 256 bits) | cpu | Mesa 22.3.6 | vk 1.3.230 | fp16 s1 a1 | ..." */
void tlv__vk_caps_banner(const tlv_vk_caps *c, char *buf, size_t cap);

/* The quirk table (quirks.c): applied by tlv__vk_caps_query; exposed for tests with fake devices. */
void tlv__vk_quirks_apply(tlv_vk_caps *c);
/* Environment switches (caps.c): TLV_DISABLE_FP16, TLV_DISABLE_SUBGROUPS, TLV_MAX_STORAGE_RANGE,
 * TLV_DISABLE_TEXEL, TLV_ENABLE_TEXEL (texel reads on any device that supports them: tests). */
void tlv__vk_caps_apply_env(tlv_vk_caps *c);
/* Everything after the query: policy defaults, the tuning row, the quirk table, the TLV_*
 * switches, the tuning record's derived constraints, the TLV_TUNE_* switches (a bad one leaves
 * its message in tune.error). tlv__vk_caps_query ends with it; tests run fake devices through it. */
void tlv__vk_caps_policy(tlv_vk_caps *c);

/* ------------------------------------------------------------------------------------------
 * Instance (loader.c) */

typedef struct tlv_vk_instance tlv_vk_instance;

typedef struct tlv_vk_instance_options {
    const tlv_allocator *alloc;
    const tlv_logger *log;   /* borrowed: must outlive the instance */
    int validation;          /* 1: enable VK_LAYER_KHRONOS_validation (also TLV_VALIDATION=1) */
} tlv_vk_instance_options;

/* "no Vulkan driver found" (TLV_ERR_NO_DEVICE) with a hint when the loader or driver is missing. */
tlv_status tlv__vk_instance_create(const tlv_vk_instance_options *o, tlv_vk_instance **out, tlv_err *err);
void tlv__vk_instance_destroy(tlv_vk_instance *inst);
uint32_t tlv__vk_instance_device_count(const tlv_vk_instance *inst);
/* Capabilities of physical device i (in enumeration order). */
const tlv_vk_caps *tlv__vk_instance_caps(const tlv_vk_instance *inst, uint32_t i);
/* Picks a device: spec NULL/"" -> TLV_DEVICE env, then discrete > integrated > virtual > CPU;
 * a number -> that index; otherwise a case-insensitive substring of the device name. */
tlv_status tlv__vk_instance_pick(const tlv_vk_instance *inst, const char *spec, uint32_t *index, tlv_err *err);
/* Validation messages of severity warning or error seen so far (tests require 0). */
uint32_t tlv__vk_instance_validation_count(const tlv_vk_instance *inst);
int tlv__vk_instance_validation_enabled(const tlv_vk_instance *inst);

/* ------------------------------------------------------------------------------------------
 * Device (device.c) */

typedef struct tlv_vk_device tlv_vk_device;

typedef struct tlv_vk_device_options {
    const char *pipeline_cache_dir; /* NULL: TLV_CACHE_DIR, else $XDG_CACHE_HOME/tinyllava, else ~/.cache/tinyllava;
                                       "" disables the persistent cache (also TLV_PIPELINE_CACHE=0) */
} tlv_vk_device_options;

tlv_status tlv__vk_device_create(tlv_vk_instance *inst, uint32_t index, const tlv_vk_device_options *o,
                                 tlv_vk_device **out, tlv_err *err);
/* Saves the pipeline cache (if it changed), frees everything; NULL is fine. */
void tlv__vk_device_destroy(tlv_vk_device *d);
const tlv_vk_caps *tlv__vk_device_caps(const tlv_vk_device *d);
const struct VolkDeviceTable *tlv__vk_device_table(const tlv_vk_device *d);
const tlv_logger *tlv__vk_device_log(const tlv_vk_device *d);
const tlv_allocator *tlv__vk_device_allocator(const tlv_vk_device *d);
/* Device memory currently allocated in blocks, and the peak. */
void tlv__vk_device_memory_usage(const tlv_vk_device *d, uint64_t *now_bytes, uint64_t *peak_bytes);
/* Whether the persistent pipeline cache was loaded (1), missed (0: absent, damaged or mismatched). */
int tlv__vk_device_pipeline_cache_hit(const tlv_vk_device *d);

/* ------------------------------------------------------------------------------------------
 * Memory (memory.c): a few large blocks (<= 1 GiB, <= maxMemoryAllocationSize), each one VkBuffer,
 * sub-allocated first-fit. A tlv_vk_buffer is a range of a block; offset is aligned to at least
 * minStorageBufferOffsetAlignment, so it can be bound directly. */

typedef enum tlv_vk_mem_kind {
    TLV_MEM_DEVICE = 0,   /* device-local; host-mapped too on UMA devices */
    TLV_MEM_UPLOAD = 1,   /* host-visible, coherent: staging for uploads */
    TLV_MEM_READBACK = 2  /* host-visible, cached if possible: results read by the host */
} tlv_vk_mem_kind;

typedef struct tlv_vk_buffer {
    VkBuffer buffer;     /* the block's buffer */
    VkDeviceSize offset; /* of this range in the block */
    VkDeviceSize size;
    uint8_t *map;        /* host pointer to offset, or NULL when not host-visible */
    void *block;         /* owning block (memory.c) */
} tlv_vk_buffer;

tlv_status tlv__vk_buffer_alloc(tlv_vk_device *d, VkDeviceSize size, tlv_vk_mem_kind kind, tlv_vk_buffer *out,
                                tlv_err *err);
/* Frees the range (a zeroed or already-freed buffer is fine). */
void tlv__vk_buffer_free(tlv_vk_device *d, tlv_vk_buffer *b);
/* Synchronous copies between host memory and a buffer, through bounded staging when the buffer is
 * not mapped. Not for use while a stream that touches b is in flight. */
tlv_status tlv__vk_buffer_write(tlv_vk_device *d, const tlv_vk_buffer *b, VkDeviceSize offset, const void *src,
                                size_t n, tlv_err *err);
tlv_status tlv__vk_buffer_read(tlv_vk_device *d, const tlv_vk_buffer *b, VkDeviceSize offset, void *dst, size_t n,
                               tlv_err *err);

/* ------------------------------------------------------------------------------------------
 * Pipelines (pipeline.c), from the embedded SPIR-V (shaders/NAME.comp). Created once per
 * (shader, specialization constants, bindings, push size), kept until the device dies.
 *
 * Shader conventions:
 *   - bindings 0..n_bindings-1 of set 0 are storage buffers, in the order the op passes them,
 *     except those in texel_mask (tlv__vk_pipeline_get_ex: bit i set = binding i is a read-only
 *     uniform texel buffer, `uniform usamplerBuffer` read with texelFetch);
 *   - one push-constant block at offset 0, mirrored by a C struct with a _Static_assert on its size;
 *   - specialization constant 0 is local_size_x (`layout(local_size_x_id = 0) in;`), 1 and 2 are
 *     local_size_y/z when used; further constants are the shader's own (tile sizes...). */

typedef struct tlv_vk_pipeline {
    VkPipeline pipeline;
    VkPipelineLayout layout;
    VkDescriptorSetLayout set_layout;
    uint32_t n_bindings;
    uint32_t texel_mask; /* bit i: binding i is a uniform texel buffer */
    uint32_t push_bytes;
    uint32_t local_size[3];
    const char *name;
} tlv_vk_pipeline;

#define TLV_VK_MAX_SPEC 16

tlv_status tlv__vk_pipeline_get(tlv_vk_device *d, const char *shader, const uint32_t *spec, uint32_t n_spec,
                                uint32_t n_bindings, uint32_t push_bytes, const tlv_vk_pipeline **out, tlv_err *err);
/* The same with some bindings as uniform texel buffers (texel_mask bit i: binding i). Fails with
 * TLV_ERR_UNSUPPORTED when the device cannot bind that many storage or texel buffers. */
tlv_status tlv__vk_pipeline_get_ex(tlv_vk_device *d, const char *shader, const uint32_t *spec, uint32_t n_spec,
                                   uint32_t n_bindings, uint32_t texel_mask, uint32_t push_bytes,
                                   const tlv_vk_pipeline **out, tlv_err *err);

/* ------------------------------------------------------------------------------------------
 * Command stream (stream.c): record many dispatches into one command buffer, then one submit and
 * one wait.
 *
 *   tlv__stream_begin      reset; optionally collect per-dispatch GPU timestamps
 *   tlv__stream_dispatch   bind, push constants, dispatch: records only
 *   tlv__stream_submit     ends the command buffer and submits it (the GPU starts)
 *   tlv__stream_wait       waits for it; returns the first error of the whole recording
 *
 * Barriers: stream.c alone decides them. Each binding says whether the dispatch writes it; the
 * stream remembers the byte ranges written and read since the last barrier and inserts one global
 * memory barrier before a dispatch that reads or writes a range written since then, or writes a
 * range read since then. Independent dispatches run without barriers between them.
 *
 * Texel bindings: the stream creates a VkBufferView (binding.texel's format) over the range at
 * dispatch and keeps the views of a recording until the next tlv__stream_begin or destroy. The
 * view's start must be a multiple of caps.min_texel_align (ops align down and pass the element
 * offset in their push constants); its length is the range rounded up to whole texels (the
 * allocator rounds every range to >= 256 bytes, so the extra bytes are the buffer's own padding)
 * and must be <= caps.max_texel_elements texels. Texel bindings are read-only; for barriers
 * they count as reads of their range, like storage reads. */

typedef struct tlv_stream tlv_stream;

typedef struct tlv_vk_binding {
    const tlv_vk_buffer *buf;
    VkDeviceSize offset; /* within buf; buf->offset + offset must be a multiple of min_storage_align
                            (min_texel_align for a texel binding) */
    VkDeviceSize range;  /* bytes; 0 = to the end of buf; must be <= caps.max_storage_range (storage)
                            or max_texel_elements texels (texel) */
    int write;           /* the dispatch writes this range */
    tlv_vk_texel texel;  /* 0 (TLV_TEXEL_NONE): a storage buffer; else a read-only uniform texel
                            buffer view in that format (the pipeline's texel_mask must agree) */
} tlv_vk_binding;

tlv_status tlv__stream_create(tlv_vk_device *d, tlv_stream **out, tlv_err *err);
void tlv__stream_destroy(tlv_stream *s);
tlv_vk_device *tlv__stream_device(tlv_stream *s);
/* Starts a new recording (the previous one must have been waited for). timestamps: 1 to record a
 * GPU timestamp after every dispatch (ignored when the device has none). */
void tlv__stream_begin(tlv_stream *s, int timestamps);
tlv_status tlv__stream_dispatch(tlv_stream *s, const tlv_vk_pipeline *p, const tlv_vk_binding *b, uint32_t n_b,
                                const void *push, uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz,
                                const char *label);
/* Buffer copy and fill (fill value is a 32-bit pattern; offset and size multiples of 4). */
tlv_status tlv__stream_copy(tlv_stream *s, const tlv_vk_buffer *src, VkDeviceSize src_off, const tlv_vk_buffer *dst,
                            VkDeviceSize dst_off, VkDeviceSize size);
tlv_status tlv__stream_fill(tlv_stream *s, const tlv_vk_buffer *dst, VkDeviceSize off, VkDeviceSize size,
                            uint32_t value);
/* Records an error found by an op (shape mismatch...) into the stream's sticky status. */
tlv_status tlv__stream_fail(tlv_stream *s, tlv_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
tlv_status tlv__stream_status(const tlv_stream *s);
tlv_status tlv__stream_submit(tlv_stream *s, tlv_err *err);
tlv_status tlv__stream_wait(tlv_stream *s, tlv_err *err);
/* submit + wait */
tlv_status tlv__stream_run(tlv_stream *s, tlv_err *err);
/* After wait: number of dispatches recorded, their labels and GPU times in nanoseconds (0 when
 * timestamps were off or unsupported). */
uint32_t tlv__stream_n_dispatches(const tlv_stream *s);
const char *tlv__stream_label(const tlv_stream *s, uint32_t i);
double tlv__stream_time_ns(const tlv_stream *s, uint32_t i);
/* GPU time from the first to the last dispatch in ns (0 without timestamps). */
double tlv__stream_total_ns(const tlv_stream *s);

/* Work accounting: an op that knows what a dispatch moves and computes calls
 * tlv__stream_note_work right after recording it; the figures add to that dispatch's record
 * (nothing happens when the latest record made no dispatch: an empty grid, a failed stream).
 * bytes: the unique bytes the dispatch reads and writes, from the real tensor sizes (weights as
 * stored, so quantized rows count at their size); flops: the arithmetic (2 per multiply-add).
 * The bench's GB/s, GFLOP/s and roofline figures are these sums (docs/BENCHMARKS.md).
 * tlv__stream_bytes / tlv__stream_flops read them back per dispatch (0 when none was noted). */
void tlv__stream_note_work(tlv_stream *s, double bytes, double flops);
double tlv__stream_bytes(const tlv_stream *s, uint32_t i);
double tlv__stream_flops(const tlv_stream *s, uint32_t i);

#endif
