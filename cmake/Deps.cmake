# Third-party dependencies, all from the system (Debian/Ubuntu packages; tools/setup-deps.sh),
# or built from source with TLV_DEPS_FROM_SOURCE (the default on Android).
if(TLV_DEPS_FROM_SOURCE)
  include(${CMAKE_CURRENT_LIST_DIR}/deps/FromSource.cmake)
  return()
endif()
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)

# volk ships as source (volk.c + volk.h); compile it into the library ourselves so that
# nothing links libvulkan: the loader is dlopen()ed at run time.
find_path(VOLK_INCLUDE_DIR volk.h REQUIRED)
find_path(VULKAN_INCLUDE_DIR vulkan/vulkan.h REQUIRED)
pkg_check_modules(CJSON REQUIRED IMPORTED_TARGET libcjson)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
set(tlv_curl "")
if(TLV_WITH_CURL)
  pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
  set(tlv_curl PkgConfig::CURL)
endif()
find_path(STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb REQUIRED)

add_library(tlv_volk OBJECT ${VOLK_INCLUDE_DIR}/volk.c)
target_include_directories(tlv_volk PUBLIC ${VOLK_INCLUDE_DIR} ${VULKAN_INCLUDE_DIR})
set_target_properties(tlv_volk PROPERTIES POSITION_INDEPENDENT_CODE ON C_VISIBILITY_PRESET hidden)
# volk.c is third-party: do not let our warning flags fail its build.
target_compile_options(tlv_volk PRIVATE -w)

# tlv_deps_link: what the final libraries link; tlv_deps: that plus include paths and defines.
add_library(tlv_deps_link INTERFACE)
target_link_libraries(tlv_deps_link INTERFACE PkgConfig::CJSON PkgConfig::PCRE2 PkgConfig::UTF8PROC
  ${tlv_curl} Threads::Threads ${CMAKE_DL_LIBS} m)
add_library(tlv_deps INTERFACE)
target_link_libraries(tlv_deps INTERFACE tlv_deps_link)
target_include_directories(tlv_deps SYSTEM INTERFACE ${VOLK_INCLUDE_DIR} ${VULKAN_INCLUDE_DIR} ${STB_INCLUDE_DIR})
target_compile_definitions(tlv_deps INTERFACE VK_NO_PROTOTYPES)
if(NOT TLV_WITH_CURL)
  target_compile_definitions(tlv_deps INTERFACE TLV_NO_CURL) # src/hub: folders and cached copies only
endif()
