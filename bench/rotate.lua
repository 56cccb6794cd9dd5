-- wrk script: each request takes a random line from the file named after `--`, so a run
-- touches many stories, tags and queries instead of one cached answer. A line is a path, or a
-- path, a tab and a JSON body. METHOD=POST turns the requests into posts (the beacons). Each
-- request comes from one of 50,000 reader addresses (X-Forwarded-For, which the benchmark's
-- server trusts), as it would behind a load balancer.
local threads = 0
local paths = {}
local bodies = {}

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      local path, body = line:match("^([^\t]*)\t(.*)$")
      paths[#paths + 1] = path or line
      bodies[#paths] = body
    end
  end
  math.randomseed(os.time() * 100 + (tid or 0))
end

function request()
  local i = math.random(#paths)
  local n = math.random(50000)
  -- wrk.format uses only the headers it is given: the command line's (-H) are copied in.
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(n / 65536), math.floor(n / 256) % 256, n % 256)
  if bodies[i] then headers["Content-Type"] = "application/json" end
  return wrk.format(os.getenv("METHOD") or "GET", paths[i], headers, bodies[i])
end
