-- LÖVE's settings for the digit demo: one window, no sound.
function love.conf(t)
   t.identity = "lua-nn-digits"
   t.window.title = "lua-nn: draw a digit"
   t.window.width = 900
   t.window.height = 440
   t.modules.audio = false
   t.modules.sound = false
   t.modules.joystick = false
   t.modules.physics = false
   t.modules.video = false
end
