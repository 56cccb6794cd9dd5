-- wrk script: each request takes a random path from the file named after `--`, so a run
-- touches many stories, tags and queries instead of one cached answer. METHOD=POST turns the
-- requests into posts (the view beacon).
local threads = 0
local paths = {}

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  math.randomseed(os.time() * 100 + (tid or 0))
end

function request()
  return wrk.format(os.getenv("METHOD") or "GET", paths[math.random(#paths)])
end
