-- alluse.metrics: exact text of small registries, escaping, histograms, errors.
local t = require("alluse.test")
local metrics = require("alluse.metrics")

t.is(metrics.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8", "content type")

do
  local reg = metrics.registry()
  local c = reg:counter("x_total", "Things", { "status" })
  local g = reg:gauge("g", "A gauge")
  c:inc({ status = "b" }, 2)
  local a = c:labels("a")
  a:inc(); a:inc(0.5)
  c:inc({ status = "b" })
  g:set(3); g:inc(); g:dec(0.5)
  t.is(reg:render(), table.concat({
    "# HELP x_total Things", "# TYPE x_total counter",
    'x_total{status="b"} 3', 'x_total{status="a"} 1.5',
    "# HELP g A gauge", "# TYPE g gauge", "g 3.5", "" }, "\n"),
    "registration order, then first-seen label order")
  t.is(c:labels("a"), a, "labels() returns the same child")
  t.is(c:get({ status = "b" }), 3, "get by labels")
  t.is(reg:counter("x_total", "Things", { "status" }), c, "same registration returns the family")
end

do
  local reg = metrics.registry()
  reg:counter("empty_total", "No series yet", { "l" })
  reg:counter("zero_total", "No labels")
  t.is(reg:render(), "# HELP zero_total No labels\n# TYPE zero_total counter\nzero_total 0\n",
    "a labelled family without series is left out; an unlabelled one starts at 0")
end

do
  local reg = metrics.registry()
  local g = reg:gauge("e", 'Help with \\ and\nnewline and "quotes"', { "a", "b" })
  g:labels('q"uote', "back\\slash\nnl"):set(1)
  t.is(reg:render(), '# HELP e Help with \\\\ and\\nnewline and "quotes"\n# TYPE e gauge\n'
    .. 'e{a="q\\"uote",b="back\\\\slash\\nnl"} 1\n', "escaping of help and label values")
end

do
  local reg = metrics.registry()
  local g = reg:gauge("f", "floats", { "k" })
  local cases = { { 1 / 0, "+Inf" }, { -1 / 0, "-Inf" }, { 0 / 0, "NaN" }, { 0.1, "0.1" },
    { -2, "-2" }, { 1e20, "1e+20" }, { 1 / 3, "0.33333333333333331" }, { 123456.789, "123456.789" } }
  for i, cs in ipairs(cases) do g:labels(tostring(i)):set(cs[1]) end
  local text = reg:render()
  for i, cs in ipairs(cases) do
    t.ok(text:find('f{k="' .. i .. '"} ' .. cs[2] .. "\n", 1, true), "float " .. cs[2])
    if cs[1] == cs[1] then t.is(tonumber(metrics.format_value(cs[1])), cs[1], "round trip " .. cs[2]) end
  end
end

do
  local reg = metrics.registry()
  local h = reg:histogram("lat_seconds", "Latency", { "op" }, { 0.1, 1, 10 })
  local r = h:labels("read")
  for _, v in ipairs({ 0.05, 0.1, 0.5, 5, 50, 1 }) do r:observe(v) end
  h:observe({ op = "write" }, 2)
  t.is(reg:render(), table.concat({
    "# HELP lat_seconds Latency", "# TYPE lat_seconds histogram",
    'lat_seconds_bucket{op="read",le="0.1"} 2', 'lat_seconds_bucket{op="read",le="1"} 4',
    'lat_seconds_bucket{op="read",le="10"} 5', 'lat_seconds_bucket{op="read",le="+Inf"} 6',
    'lat_seconds_sum{op="read"} 56.65', 'lat_seconds_count{op="read"} 6',
    'lat_seconds_bucket{op="write",le="0.1"} 0', 'lat_seconds_bucket{op="write",le="1"} 0',
    'lat_seconds_bucket{op="write",le="10"} 1', 'lat_seconds_bucket{op="write",le="+Inf"} 1',
    'lat_seconds_sum{op="write"} 2', 'lat_seconds_count{op="write"} 1', "" }, "\n"),
    "histogram: cumulative buckets (le inclusive), +Inf, sum, count")
  local count, sum = r:get()
  t.is(count, 6, "histogram get: count"); t.is(sum, 56.65, "histogram get: sum")
  local h2 = reg:histogram("d_seconds", "default buckets", nil, { 1, 1 / 0 })
  h2:observe(3)
  t.like(reg:render(), 'd_seconds_bucket{le="%+Inf"} 1\nd_seconds_sum 3\nd_seconds_count 1\n$',
    "an explicit +Inf bucket is not doubled")
end

do
  local reg = metrics.registry()
  local c = reg:counter("c_total", "c", { "a", "b" })
  reg:gauge("g", "g")
  t.raises(function() reg:counter("bad-name_total", "x") end, "bad metric name", "bad metric name")
  t.raises(function() reg:counter("9x_total", "x") end, "bad metric name", "metric name starting with a digit")
  t.raises(function() reg:gauge("ok", "x", { "bad:label" }) end, "ok: bad label name", "bad label name")
  t.raises(function() reg:gauge("ok2", "x", { "__reserved" }) end, "bad label name", "reserved label name")
  t.raises(function() reg:histogram("h", "x", { "le" }) end, "h: .*le", "histogram label le")
  t.raises(function() reg:counter("nototal", "x") end, "nototal: .*_total", "counter without _total")
  t.raises(function() reg:gauge("c_total", "c", { "a", "b" }) end, "c_total is already registered as a counter",
    "duplicate with another type")
  t.raises(function() reg:counter("c_total", "c", { "a" }) end, "c_total is already registered", "duplicate with other labels")
  t.raises(function() c:labels("x") end, "c_total: 1 label value%(s%) given, 2 wanted", "wrong label count")
  t.raises(function() c:inc({ a = "x" }) end, "c_total: label b missing", "missing label")
  t.raises(function() c:inc({ a = "x", b = "y", z = "q" }) end, "c_total: unknown label z", "unknown label")
  t.raises(function() c:inc() end, "c_total has labels", "labelled family used without labels")
  t.raises(function() c:labels("x", "y"):inc(-1) end, "c_total: a counter only goes up", "counter decrease")
  t.raises(function() c:labels("x", "y"):inc(0 / 0) end, "c_total: a counter only goes up", "counter NaN")
  t.raises(function() c:labels("x", {}) end, "c_total: label b wants a string", "label value type")
  t.raises(function() reg:histogram("h_seconds", "x", {}, { 1, 0 / 0 }) end, "h_seconds: bucket 2 is nan", "NaN bucket")
  t.raises(function() reg:histogram("h_seconds", "x", {}, { 1, 1 }) end, "h_seconds: buckets must increase", "buckets not increasing")
  local h = reg:histogram("h_seconds", "x")
  t.raises(function() h:observe(0 / 0) end, "h_seconds: observe wants a number", "observe NaN")
  t.raises(function() reg:gauge("h_seconds_count", "x") end, "clashes with histogram h_seconds", "histogram suffix clash")
  t.raises(function() reg:get("g"):observe(1) end, "g: observe is for histograms", "observe on a gauge")
  t.is(c:labels(1, 2.5), c:labels("1", "2.5"), "number label values are formatted as strings")
end

do
  local reg = metrics.registry()
  local m = metrics.alluse_defaults(reg)
  t.ok(m.orders and m.loop_lag and m.build_info, "defaults returned by short name")
  local text = reg:render()
  t.like(text, 'alluse_build_info{version="[^"]+",commit="[^"]+"} 1\n', "build info")
  t.like(text, "# TYPE alluse_event_loop_lag_seconds histogram\n", "loop lag histogram")
  t.unlike(text, "alluse_orders_total{", "no order series until one is counted")
  t.is(metrics.alluse_defaults(reg).orders, m.orders, "defaults can be registered twice")
end

do
  local reg = metrics.registry()
  local g = reg:gauge("g", "g")
  local h = reg:histogram("h_seconds", "h", {}, { 1 })
  t.is(reg:render(), "# HELP g g\n# TYPE g gauge\ng 0\n# HELP h_seconds h\n# TYPE h_seconds histogram\n"
    .. 'h_seconds_bucket{le="1"} 0\nh_seconds_bucket{le="+Inf"} 0\nh_seconds_sum 0\nh_seconds_count 0\n',
    "first render")
  g:set(0 / 0); h:observe(0.5); h:observe(2)
  t.like(reg:render(), 'g NaN\n.*le="1"} 1\n.*le="%+Inf"} 2\nh_seconds_sum 2.5\nh_seconds_count 2\n$',
    "a second render shows the values changed since the first")
  g:set(-1)
  t.like(reg:render(), "g %-1\n", "and a third")
end
