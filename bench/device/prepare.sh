#!/usr/bin/env bash
# Builds .device/: what the GPU machine needs to run bench/device.ts without npm or a network.
# A Node binary and Dawn's dawn.node (xz), the check and the device worker bundled by esbuild, and
# the Vulkan/EGL loader packages from Debian (the machine's driver provides the ICD).
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.device/' .git/info/exclude || echo '/.device/' >> .git/info/exclude
rm -rf .device && mkdir -p .device/webgpu/dist/linux-x64 .device/debs
npx esbuild bench/device.ts --bundle --platform=node --format=esm --outfile=.device/device.mjs \
  --external:webgpu --external:gl --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
npx esbuild kernels/gpujs/worker.ts --bundle --platform=node --format=esm --outfile=.device/worker.mjs \
  --external:webgpu --external:gl --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json .device/webgpu/
xz -T0 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > .device/dawn.node.xz
xz -T0 -6 -c "$(command -v node)" > .device/node.xz
cp bench/device/run.sh .device/
(cd .device/debs && apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null)
du -sh .device
