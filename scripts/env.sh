# Shared build environment: sourced by every script. The ggml CPU kernels
# are compiled by cgo; without -march=x86-64-v3 (AVX2/FMA/F16C) they run
# about 13x slower.
export CGO_ENABLED=1
export CGO_CFLAGS="-O3 -march=x86-64-v3"
export CGO_CXXFLAGS="-O3 -march=x86-64-v3"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"
# No session bus: otherwise GIO starts one that outlives the app.
export DBUS_SESSION_BUS_ADDRESS="${DBUS_SESSION_BUS_ADDRESS:-unix:path=/nonexistent}"
WAILS_VERSION=v2.11.0
