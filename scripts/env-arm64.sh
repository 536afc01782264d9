# The linux/arm64 cross build, sourced after scripts/env.sh by
# scripts/package.sh arm64 and tests/arm64/run.sh (scripts/setup.sh arm64
# installs what it uses).
#
# One build for every 64-bit ARM CPU: ggml and our kernels are compiled for
# plain ARMv8-A (NEON). ggml picks its dot-product and FP16 code paths at
# compile time (__ARM_FEATURE_DOTPROD and friends), so a binary built for
# ARMv8.2-A+dotprod would die with SIGILL on a Cortex-A53/A72 (Raspberry Pi
# 3/4); our ternary kernels, which do most of the work, choose sdot at run
# time instead (engine/kernel/ternary_arm64.c). docs/platforms.md has the
# measurements behind this choice.
export GOOS=linux GOARCH=arm64 CGO_ENABLED=1
export CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++
export CGO_CFLAGS="-O3 -march=armv8-a"
export CGO_CXXFLAGS="-O3 -march=armv8-a"
# The app's GTK 3 and WebKitGTK 4.1: the arm64 multiarch packages, and the
# two .pc files Debian 12 cannot install for arm64 next to the amd64 ones
# (scripts/package.sh writes them into a folder of its own: ARM64_PKGCONFIG).
export PKG_CONFIG_LIBDIR="${ARM64_PKGCONFIG:+$ARM64_PKGCONFIG:}/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig"
# qemu-user finds the arm64 dynamic loader and libc here (the -L option).
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
