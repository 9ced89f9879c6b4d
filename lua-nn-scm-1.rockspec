rockspec_format = "3.0"
package = "lua-nn"
version = "scm-1"
-- lua-nn has no public repository and no homepage yet.  The rock is built
-- from a checkout with `luarocks make` (make install, make rock-check),
-- which reads no source URL; `luarocks build` or `luarocks pack` of this
-- rockspec cannot fetch one.  Put the repository's URL here once it has one.
source = {
   url = "*** none yet: build from a checkout with luarocks make ***",
}
description = {
   summary = "Neural networks for Lua 5.1 to 5.4 and LuaJIT: C kernels on OpenBLAS, Lua networks",
   detailed = [[
      require "nn": 2-D float32 matrices; dense, convolutional, pooling,
      batch-normalization and activation layers; losses and backpropagation,
      with numerical gradient checks; containers (Sequential, Residual,
      Concat); optimizers (SGD with momentum and Nesterov, Adam, AdamW,
      RMSprop, Adagrad) and learning-rate schedules; a training loop with
      validation and early stopping; MNIST and IDX loading; model files that
      load on every Lua; weights to and from NumPy (.npy) and PyTorch
      (safetensors, state dicts); PNG pictures, SVG and PNG charts and an
      HTML training report.  The hot kernels are C on OpenBLAS; networks,
      training loops and data loading are Lua.  A C API (lua_nn.h) for
      hosts that embed Lua, such as games.
   ]],
   homepage = "*** none yet ***",
   license = "MIT",
   labels = { "neural-networks", "machine-learning", "deep-learning", "blas" },
}
-- the C core uses POSIX calls (open, pread, fsync, rename, realpath,
-- clock_gettime, isatty)
supported_platforms = { "unix" }
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
      ["nn.canvas_check"] = "lua/nn/canvas_check.lua",
      ["nn.canvas_raster"] = "lua/nn/canvas_raster.lua",
      ["nn.canvas_svg"] = "lua/nn/canvas_svg.lua",
      ["nn.chart"] = "lua/nn/chart.lua",
      ["nn.chart_draw"] = "lua/nn/chart_draw.lua",
      ["nn.chart_geometry"] = "lua/nn/chart_geometry.lua",
      ["nn.chart_scale"] = "lua/nn/chart_scale.lua",
      ["nn.clip"] = "lua/nn/clip.lua",
      ["nn.compat"] = "lua/nn/compat.lua",
      ["nn.distributed"] = "lua/nn/distributed.lua",
      ["nn.export"] = "lua/nn/export.lua",
      ["nn.export_code"] = "lua/nn/export_code.lua",
      ["nn.export_math"] = "lua/nn/export_math.lua",
      ["nn.export_sequence"] = "lua/nn/export_sequence.lua",
      ["nn.font"] = "lua/nn/font.lua",
      ["nn.gradcheck"] = "lua/nn/gradcheck.lua",
      ["nn.help"] = "lua/nn/help.lua",
      ["nn.image"] = "lua/nn/image.lua",
      ["nn.json"] = "lua/nn/json.lua",
      ["nn.layers"] = "lua/nn/layers.lua",
      ["nn.love"] = "lua/nn/love.lua",
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
      ["nn.train_check"] = "lua/nn/train_check.lua",
      ["nn.train_history"] = "lua/nn/train_history.lua",
      ["nn.util"] = "lua/nn/util.lua",
      ["nn.core"] = {
         sources = {
            "csrc/activations.c", "csrc/api.c", "csrc/conv.c",
            "csrc/core.c", "csrc/dense.c", "csrc/descriptor.c",
            "csrc/file.c", "csrc/k_act.c", "csrc/k_conv.c",
            "csrc/k_dense.c", "csrc/k_direct.c", "csrc/k_direct_cv.c",
            "csrc/k_direct_dw.c", "csrc/k_direct_dwp.c", "csrc/k_gemm.c",
            "csrc/k_gemm_kernels.c", "csrc/k_loss.c", "csrc/k_matrix.c",
            "csrc/k_norm.c", "csrc/k_optim.c", "csrc/k_pool22.c",
            "csrc/k_rnn.c", "csrc/k_typed.c", "csrc/loss.c",
            "csrc/matrix.c", "csrc/matrix_basic.c", "csrc/matrix_class.c",
            "csrc/matrix_math.c", "csrc/matrix_ops.c", "csrc/module.c",
            "csrc/norm.c", "csrc/optim.c", "csrc/platform.c", "csrc/pool.c",
            "csrc/registry.c", "csrc/rng.c", "csrc/rnn.c", "csrc/rnn_run.c",
            "csrc/typed.c",
         },
         incdirs = { "csrc", "$(OPENBLAS_INCDIR)", "$(ZLIB_INCDIR)" },
         libdirs = { "$(OPENBLAS_LIBDIR)", "$(ZLIB_LIBDIR)" },
         libraries = { "openblas", "z", "m" },
      },
   },
}
-- `luarocks test`: the busted suite in spec/ (configured by .busted).  Some
-- specs need what the Makefile builds or installs (the embedding host, the
-- other Luas' cores, PyTorch, MNIST, LÖVE, Chromium): `make test` is the
-- complete run, and installs all of it on Debian.
test_dependencies = {
   "busted",
}
test = {
   type = "busted",
}
