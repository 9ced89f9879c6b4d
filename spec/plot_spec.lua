-- nn.plot: line charts in characters.
local plot = require "nn.plot"

describe("plot.lines", function()
   it("draws each series with its mark, the y range and a legend", function()
      local s = plot.lines({{1, 2, 3}, {3, 2, 1}}, {height = 3, width = 8})
      assert.are.equal(table.concat({
         "3 |oo    **",
         "  |  oooo  ",
         "1 |**    oo",
         "  +--------",
         "   1      3",
         "   * 1   o 2",
      }, "\n"), s)
   end)

   it("takes one list, or named series sorted by name", function()
      local s = plot.lines({0, 1}, {height = 2, width = 8})
      assert.truthy(s:find("^1 |    %*%*%*%*\n0 |%*%*%*%*    \n"), s)
      s = plot.lines({valLoss = {1, 2}, loss = {2, 1}}, {height = 2, width = 8})
      assert.truthy(s:find("* loss   o valLoss", 1, true), s)
   end)

   it("leaves out NaN and infinities, and draws a flat series mid-way", function()
      local s = plot.lines({{5, 0 / 0, math.huge, 5}}, {height = 3, width = 8})
      local rows = {}
      for line in s:gmatch("[^\n]+") do rows[#rows + 1] = line end
      assert.are.equal("5.5 |        ", rows[1])
      assert.are.equal("    |**     *", rows[2])
      assert.are.equal("4.5 |        ", rows[3])
   end)

   it("has a log scale for losses that span decades", function()
      local s = plot.lines({{100, 10, 1}}, {height = 3, width = 8, log = true})
      assert.truthy(s:find("^100 |%*", 1), s)
      assert.truthy(s:find("\n  1 |      %*%*"), s)
      assert.truthy(s:find("(log scale)", 1, true), s)
      assert.has_error(function() plot.lines({{0, -1}}, {log = true}) end,
         "plot.lines: nothing to draw: no finite positive values")
   end)

   it("refuses bad input by name", function()
      assert.has_error(function() plot.lines(5) end,
         "plot.lines: series must be a table, got number")
      assert.has_error(function() plot.lines({}) end, "plot.lines: no series to draw")
      assert.has_error(function() plot.lines({a = 5}) end,
         "plot.lines: series a must be a list of numbers, got number")
      assert.has_error(function() plot.lines({{1, "x"}}) end,
         "plot.lines: series 1: value 2 is string, expected a number")
      assert.has_error(function() plot.lines({1, 2}, {width = 3}) end,
         "plot.lines: width must be an integer from 8 to 1000, got 3")
      assert.has_error(function() plot.lines({1, 2}, {colour = true}) end,
         "plot.lines: unknown option 'colour' (expected height, log, width)")
      assert.has_error(function() plot.lines({0 / 0}) end,
         "plot.lines: nothing to draw: no finite values")
      local many = {}
      for i = 1, 9 do many[i] = {1, 2} end
      assert.has_error(function() plot.lines(many) end, "plot.lines: at most 8 series, got 9")
   end)
end)
