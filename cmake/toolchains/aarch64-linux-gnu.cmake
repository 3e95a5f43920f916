# Cross-compiling for 64-bit ARM Linux with Debian's cross toolchain and multiarch libraries:
#
#   apt-get install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu        (the compilers)
#   dpkg --add-architecture arm64 && apt-get update
#   apt-get install libcjson-dev:arm64 libpcre2-dev:arm64 libutf8proc-dev:arm64 libcurl4-openssl-dev:arm64
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
#
# (tools/cross/ci_aarch64.sh does all of it.) No sysroot: Debian's cross gcc is multiarch-aware, it
# searches /usr/include/aarch64-linux-gnu, /usr/include and /usr/lib/aarch64-linux-gnu by itself,
# which is where the :arm64 packages put their architecture-dependent files. Arch-independent
# sources and headers (volk.c, vulkan/*.h, stb_image.h) come from /usr/include as on the host.
# glslc and spirv-val are host programs, found on the host's PATH as usual (cmake/Shaders.cmake).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(TLV_CROSS_TRIPLET aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${TLV_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${TLV_CROSS_TRIPLET}-g++)

# Libraries and pkg-config files of the target architecture only: never link an x86-64 library
# by accident. Programs (glslc, spirv-val, git) are the host's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${TLV_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")
set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu)

# ctest and try_run go through qemu when it is installed (apt-get install qemu-user-static).
find_program(TLV_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(TLV_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${TLV_QEMU_AARCH64} -L /usr/${TLV_CROSS_TRIPLET})
endif()
