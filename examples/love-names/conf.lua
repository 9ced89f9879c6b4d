-- LÖVE's settings for the name generator: one window, no sound.
function love.conf(t)
   t.identity = "lua-nn-names"
   t.window.title = "lua-nn: names from an LSTM"
   t.window.width = 720
   t.window.height = 440
   t.modules.audio = false
   t.modules.sound = false
   t.modules.joystick = false
   t.modules.physics = false
   t.modules.video = false
end
