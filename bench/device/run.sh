#!/usr/bin/env bash
# On the GPU machine, from the repository root: unpack .device/ (see prepare.sh) and run the check.
set -euo pipefail
out="${1:-${OUT:-.}}"
for f in .device/debs/*.deb; do dpkg -x "$f" /; done
ldconfig
icd="${VK_DRIVER_FILES:-$(ls /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json 2>/dev/null | head -1 || true)}"
[ -n "$icd" ] && export VK_DRIVER_FILES="$icd"
mkdir -p /tmp/onestep/node_modules/webgpu/dist/linux-x64 /tmp/onestep/bin
xz -dc .device/node.xz > /tmp/onestep/bin/node && chmod +x /tmp/onestep/bin/node
xz -dc .device/dawn.node.xz > /tmp/onestep/node_modules/webgpu/dist/linux-x64/dawn.node
cp .device/webgpu/index.js .device/webgpu/package.json /tmp/onestep/node_modules/webgpu/
cp .device/device.mjs .device/worker.mjs /tmp/onestep/
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"; ldconfig -p | grep -E 'libvulkan|libEGL_nvidia|libGLX_nvidia' | head -5 || true
ls /usr/local/nvidia/share/vulkan/icd.d /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/share/glvnd/egl_vendor.d /usr/local/nvidia/share/glvnd/egl_vendor.d 2>/dev/null || true
egl="${__EGL_VENDOR_LIBRARY_FILENAMES:-$(ls /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json /usr/share/glvnd/egl_vendor.d/10_nvidia.json 2>/dev/null | head -1 || true)}"
[ -n "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES="$egl"
cd /tmp/onestep && ONESTEP_GPUJS_WORKER=/tmp/onestep/worker.mjs ./bin/node device.mjs "$out"
