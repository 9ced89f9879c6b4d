rockspec_format = "3.0"
package = "lua-nn"
version = "scm-1"
source = {
   url = "git+file:///dev/null",   -- built from the tree with `luarocks make`
}
description = {
   summary = "Neural networks for Lua 5.1 to 5.4 and LuaJIT: C kernels on OpenBLAS, Lua networks",
   detailed = [[
      require "nn": matrices, dense layers, activations, losses,
      backpropagation, optimizers (SGD with momentum and Nesterov, Adam, ...),
      training loops and MNIST loading.  Hot kernels are C on OpenBLAS.
   ]],
   license = "MIT",
}
dependencies = {
   "lua >= 5.1, < 5.5",
}
-- cblas.h is looked for in $(OPENBLAS_INCDIR): $(OPENBLAS_DIR)/include by
-- default (Homebrew: OPENBLAS_DIR=$(brew --prefix openblas)); Fedora keeps it
-- in /usr/include/openblas and Debian in /usr/include/<multiarch>, so there
-- pass OPENBLAS_INCDIR (make install and make rock-check find it themselves).
external_dependencies = {
   OPENBLAS = { header = "cblas.h", library = "openblas" },
   ZLIB = { header = "zlib.h", library = "z" },
}
build = {
   type = "builtin",
   modules = {
      ["nn"] = "lua/nn/init.lua",
      ["nn.Concat"] = "lua/nn/Concat.lua",
      ["nn.ConfusionMatrix"] = "lua/nn/ConfusionMatrix.lua",
      ["nn.Container"] = "lua/nn/Container.lua",
      ["nn.Residual"] = "lua/nn/Residual.lua",
      ["nn.Sequential"] = "lua/nn/Sequential.lua",
      ["nn.canvas"] = "lua/nn/canvas.lua",
      ["nn.chart"] = "lua/nn/chart.lua",
      ["nn.compat"] = "lua/nn/compat.lua",
      ["nn.font"] = "lua/nn/font.lua",
      ["nn.gradcheck"] = "lua/nn/gradcheck.lua",
      ["nn.help"] = "lua/nn/help.lua",
      ["nn.image"] = "lua/nn/image.lua",
      ["nn.json"] = "lua/nn/json.lua",
      ["nn.layers"] = "lua/nn/layers.lua",
      ["nn.mnist"] = "lua/nn/mnist.lua",
      ["nn.npy"] = "lua/nn/npy.lua",
      ["nn.optim"] = "lua/nn/optim.lua",
      ["nn.plot"] = "lua/nn/plot.lua",
      ["nn.progress"] = "lua/nn/progress.lua",
      ["nn.report"] = "lua/nn/report.lua",
      ["nn.safetensors"] = "lua/nn/safetensors.lua",
      ["nn.schedule"] = "lua/nn/schedule.lua",
      ["nn.serialize"] = "lua/nn/serialize.lua",
      ["nn.statedict"] = "lua/nn/statedict.lua",
      ["nn.train"] = "lua/nn/train.lua",
      ["nn.core"] = {
         sources = {
            "csrc/activations.c", "csrc/api.c", "csrc/core.c",
            "csrc/data.c", "csrc/image.c", "csrc/k_act.c", "csrc/k_conv.c",
            "csrc/k_gemm.c", "csrc/k_layers.c", "csrc/k_loss.c",
            "csrc/k_matrix.c", "csrc/k_optim.c", "csrc/k_typed.c",
            "csrc/layers.c", "csrc/loss.c", "csrc/matrix.c",
            "csrc/matrix_math.c", "csrc/matrix_ops.c", "csrc/module.c",
            "csrc/norm.c", "csrc/optim.c", "csrc/platform.c", "csrc/rng.c",
            "csrc/typed.c",
         },
         incdirs = { "csrc", "$(OPENBLAS_INCDIR)", "$(ZLIB_INCDIR)" },
         libdirs = { "$(OPENBLAS_LIBDIR)", "$(ZLIB_LIBDIR)" },
         libraries = { "openblas", "z", "m" },
      },
   },
}
