# Dependencies built from source: TLV_DEPS_FROM_SOURCE=ON, the default on Android, whose NDK has
# none of them. Included by cmake/Deps.cmake instead of its system-package path; it defines the
# same three targets: tlv_volk (volk.c), tlv_deps_link (what the libraries link) and tlv_deps
# (that plus include paths and defines).
#
# Each dependency is a FetchContent declaration: by default a git tag cloned at configure time
# (that needs network). To build offline, or with your own copies, point CMake at local source
# trees; FetchContent then uses them as they are:
#
#   -DFETCHCONTENT_SOURCE_DIR_CJSON=DIR           DIR/cJSON.c, DIR/cJSON.h
#   -DFETCHCONTENT_SOURCE_DIR_PCRE2=DIR           a PCRE2 release tree (its CMakeLists.txt)
#   -DFETCHCONTENT_SOURCE_DIR_UTF8PROC=DIR        DIR/utf8proc.c, utf8proc.h, utf8proc_data.c
#   -DFETCHCONTENT_SOURCE_DIR_VOLK=DIR            DIR/volk.c, DIR/volk.h
#   -DFETCHCONTENT_SOURCE_DIR_VULKAN_HEADERS=DIR  DIR/include/vulkan/vulkan.h
#   -DFETCHCONTENT_SOURCE_DIR_STB=DIR             DIR/stb_image.h
#
# (On Debian, /usr/include has volk.c and volk.h, /usr has include/vulkan and /usr/include/stb has
# stb_image.h; tools/cross/from_source_check.sh builds this path that way.) A project that adds
# this one as a subdirectory and declares the same names first wins: its versions are used.
#
# The versions: cJSON, PCRE2 and utf8proc are Debian 12's (what the tests run with); volk and
# Vulkan-Headers are one SDK release of both (volk must match the headers). stb has no releases:
# the commit Debian 12 packages.
#
# cJSON, utf8proc and volk are one .c each: compiled here, as their own targets, rather than
# through their CMake files (cJSON's adds global compiler flags). PCRE2 goes through its own
# CMakeLists.txt (it generates config.h and pcre2.h), 8-bit library only, static, with JIT.
# Everything is static, position-independent and hidden, so a shared library built on top (the
# Android JNI bridge) exports none of it. libcurl is not built here: with TLV_WITH_CURL=ON a
# prebuilt one must be found (find_package(CURL), e.g. through CMAKE_PREFIX_PATH).
include(FetchContent)
find_package(Threads REQUIRED)

FetchContent_Declare(cjson
  GIT_REPOSITORY https://github.com/DaveGamble/cJSON.git
  GIT_TAG v1.7.15
  GIT_SHALLOW TRUE
  SOURCE_SUBDIR tlv-no-cmake)
FetchContent_Declare(pcre2
  GIT_REPOSITORY https://github.com/PCRE2Project/pcre2.git
  GIT_TAG pcre2-10.42
  GIT_SHALLOW TRUE
  SOURCE_SUBDIR tlv-no-cmake)
FetchContent_Declare(utf8proc
  GIT_REPOSITORY https://github.com/JuliaStrings/utf8proc.git
  GIT_TAG v2.8.0
  GIT_SHALLOW TRUE
  SOURCE_SUBDIR tlv-no-cmake)
FetchContent_Declare(volk
  GIT_REPOSITORY https://github.com/zeux/volk.git
  GIT_TAG vulkan-sdk-1.3.290.0
  GIT_SHALLOW TRUE
  SOURCE_SUBDIR tlv-no-cmake)
FetchContent_Declare(vulkan_headers
  GIT_REPOSITORY https://github.com/KhronosGroup/Vulkan-Headers.git
  GIT_TAG vulkan-sdk-1.3.290.0
  GIT_SHALLOW TRUE
  SOURCE_SUBDIR tlv-no-cmake)
FetchContent_Declare(stb
  GIT_REPOSITORY https://github.com/nothings/stb.git
  GIT_TAG 8b5f1f37b5b75829fc72d38e7b5d4bcbf8a26d55
  SOURCE_SUBDIR tlv-no-cmake)
# SOURCE_SUBDIR names a folder none of them has: MakeAvailable then only fetches (it adds a
# subdirectory only where one has a CMakeLists.txt), on every CMake since 3.14.
FetchContent_MakeAvailable(cjson pcre2 utf8proc volk vulkan_headers stb)

foreach(f cjson/cJSON.c utf8proc/utf8proc.c utf8proc/utf8proc_data.c volk/volk.c volk/volk.h
          vulkan_headers/include/vulkan/vulkan.h stb/stb_image.h pcre2/CMakeLists.txt)
  string(FIND ${f} "/" slash)
  string(SUBSTRING ${f} 0 ${slash} dep)
  math(EXPR slash "${slash} + 1")
  string(SUBSTRING ${f} ${slash} -1 file)
  if(NOT EXISTS ${${dep}_SOURCE_DIR}/${file})
    string(TOUPPER ${dep} DEP)
    message(FATAL_ERROR "${dep}: ${${dep}_SOURCE_DIR}/${file} not found "
      "(set FETCHCONTENT_SOURCE_DIR_${DEP} to a source tree that has it; cmake/deps/FromSource.cmake)")
  endif()
endforeach()

# The headers, as the sources include them (<cjson/cJSON.h>, <utf8proc.h>, <stb_image.h> and
# <stb/stb_image.h>), copied into one folder so that nothing else of the source trees is on the
# include path.
set(tlv_dep_inc ${CMAKE_CURRENT_BINARY_DIR}/tlv-deps/include)
configure_file(${cjson_SOURCE_DIR}/cJSON.h ${tlv_dep_inc}/cjson/cJSON.h COPYONLY)
configure_file(${utf8proc_SOURCE_DIR}/utf8proc.h ${tlv_dep_inc}/utf8proc.h COPYONLY)
configure_file(${stb_SOURCE_DIR}/stb_image.h ${tlv_dep_inc}/stb_image.h COPYONLY)
configure_file(${stb_SOURCE_DIR}/stb_image.h ${tlv_dep_inc}/stb/stb_image.h COPYONLY)
configure_file(${volk_SOURCE_DIR}/volk.h ${tlv_dep_inc}/volk.h COPYONLY)

# Third-party code: our warning flags (and -Werror) must not fail its build.
add_library(tlv_cjson STATIC ${cjson_SOURCE_DIR}/cJSON.c)
target_include_directories(tlv_cjson PUBLIC ${tlv_dep_inc})
target_link_libraries(tlv_cjson PRIVATE m)

add_library(tlv_utf8proc STATIC ${utf8proc_SOURCE_DIR}/utf8proc.c)
target_include_directories(tlv_utf8proc PUBLIC ${tlv_dep_inc})
target_compile_definitions(tlv_utf8proc PUBLIC UTF8PROC_STATIC) # else its API is visibility("default")

add_library(tlv_volk OBJECT ${volk_SOURCE_DIR}/volk.c)
target_include_directories(tlv_volk PUBLIC ${tlv_dep_inc} ${vulkan_headers_SOURCE_DIR}/include)

foreach(t tlv_cjson tlv_utf8proc tlv_volk)
  set_target_properties(${t} PROPERTIES POSITION_INDEPENDENT_CODE ON C_VISIBILITY_PRESET hidden)
  target_compile_options(${t} PRIVATE -w)
endforeach()

# PCRE2: cache entries, not variables (its CMakeLists.txt predates policy CMP0077, so option()
# would ignore a plain variable); not FORCEd, so a -D on the command line wins.
set(PCRE2_BUILD_PCRE2_8 ON CACHE BOOL "")
set(PCRE2_BUILD_PCRE2_16 OFF CACHE BOOL "")
set(PCRE2_BUILD_PCRE2_32 OFF CACHE BOOL "")
set(PCRE2_BUILD_PCRE2GREP OFF CACHE BOOL "")
set(PCRE2_BUILD_TESTS OFF CACHE BOOL "")
set(PCRE2_SHOW_REPORT OFF CACHE BOOL "")
set(PCRE2_STATIC_PIC ON CACHE BOOL "")
set(PCRE2_SUPPORT_JIT ON CACHE BOOL "") # src/text/bpe.c falls back to the interpreter if it fails
set(BUILD_STATIC_LIBS ON CACHE BOOL "")
# PCRE2 10.42 asks for CMake 3.1: CMake 4 refuses anything below 3.5 unless told this, and
# without CMP0063 a static library ignores C_VISIBILITY_PRESET (its symbols would be exported).
set(CMAKE_POLICY_VERSION_MINIMUM 3.5)
set(CMAKE_POLICY_DEFAULT_CMP0063 NEW)
add_subdirectory(${pcre2_SOURCE_DIR} ${pcre2_BINARY_DIR} EXCLUDE_FROM_ALL)
unset(CMAKE_POLICY_VERSION_MINIMUM)
unset(CMAKE_POLICY_DEFAULT_CMP0063)
if(TARGET pcre2-8-static)
  set(tlv_pcre2 pcre2-8-static)
elseif(TARGET pcre2-8)
  set(tlv_pcre2 pcre2-8)
else()
  message(FATAL_ERROR "pcre2: ${pcre2_SOURCE_DIR} defines neither pcre2-8-static nor pcre2-8")
endif()
set_target_properties(${tlv_pcre2} PROPERTIES POSITION_INDEPENDENT_CODE ON C_VISIBILITY_PRESET hidden)
# The folder inherits our compile options (warnings, -Werror); -w last turns them off again.
target_compile_options(${tlv_pcre2} PRIVATE -w)

set(tlv_curl "")
if(TLV_WITH_CURL)
  find_package(CURL REQUIRED)
  set(tlv_curl CURL::libcurl)
endif()

# tlv_deps_link: what the final libraries link; tlv_deps: that plus include paths and defines.
add_library(tlv_deps_link INTERFACE)
target_link_libraries(tlv_deps_link INTERFACE tlv_cjson ${tlv_pcre2} tlv_utf8proc ${tlv_curl}
  Threads::Threads ${CMAKE_DL_LIBS} m)
add_library(tlv_deps INTERFACE)
target_link_libraries(tlv_deps INTERFACE tlv_deps_link)
target_include_directories(tlv_deps SYSTEM INTERFACE ${tlv_dep_inc} ${vulkan_headers_SOURCE_DIR}/include)
target_compile_definitions(tlv_deps INTERFACE VK_NO_PROTOTYPES)
if(NOT TLV_WITH_CURL)
  target_compile_definitions(tlv_deps INTERFACE TLV_NO_CURL) # src/hub: folders and cached copies only
endif()
