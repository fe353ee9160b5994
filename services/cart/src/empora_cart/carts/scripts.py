"""The Lua scripts that change carts: each read-modify-write runs atomically inside Redis.

A cart is one hash: ``id``, ``created_at``, ``updated_at``, ``version``, ``seq`` (a counter
giving lines their order), and per line ``l:<product id>`` = quantity and ``a:<product id>`` =
the line's position. Every change bumps ``version``, stamps ``updated_at`` and renews the TTL.
Scripts answer ``{status, ...}``; a cart's fields come back as a flat HGETALL list.
"""

from __future__ import annotations

_PRELUDE = """
local function line_count(key)
  local n = 0
  for _, f in ipairs(redis.call('HKEYS', key)) do
    if string.sub(f, 1, 2) == 'l:' then n = n + 1 end
  end
  return n
end

-- A new cart starts at the version floor, so a re-created cart never repeats a version.
local function create(key, floor_key, cart_id, now)
  local floor = tonumber(redis.call('GET', floor_key) or '0')
  redis.call('HSET', key, 'id', cart_id, 'created_at', now, 'version', floor, 'seq', 0)
end

local function add_line(key, pid, qty)
  redis.call('HSET', key, 'l:' .. pid, qty)
  local seq = redis.call('HINCRBY', key, 'seq', 1)
  redis.call('HSET', key, 'a:' .. pid, seq)
end

local function touch(key, now, ttl)
  redis.call('HINCRBY', key, 'version', 1)
  redis.call('HSET', key, 'updated_at', now)
  redis.call('EXPIRE', key, ttl)
end

local function snapshot(key)
  return redis.call('HGETALL', key)
end
"""

# KEYS: cart, version floor, guest quota
# ARGV: product id, quantity, mode ('add' adds to the line, 'set' replaces it; 0 removes),
#       available stock, max per line, max lines, ttl, id for a new cart, now,
#       guest quota (0: none), quota window
WRITE_LINE = (
    _PRELUDE
    + """
local key, floor_key, quota_key = KEYS[1], KEYS[2], KEYS[3]
local pid, qty, mode = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local available, max_qty, max_lines = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local ttl, cart_id, now = tonumber(ARGV[7]), ARGV[8], ARGV[9]
local quota, window = tonumber(ARGV[10]), tonumber(ARGV[11])

local exists = redis.call('EXISTS', key) == 1
local current = 0
if exists then current = tonumber(redis.call('HGET', key, 'l:' .. pid) or '0') end
local new = qty
if mode == 'add' then new = current + qty end

if mode == 'set' and current == 0 and new > 0 then return {'not_in_cart'} end
if new == current then
  if exists then return {'unchanged', snapshot(key)} end
  return {'unchanged', {}}
end
if new > max_qty then return {'line_limit', current} end
if new > current and new > available then return {'out_of_stock', available, new} end
if current == 0 and exists and line_count(key) >= max_lines then return {'too_many_lines'} end

if not exists then
  if quota > 0 then
    local used = tonumber(redis.call('GET', quota_key) or '0')
    if used >= quota then return {'quota_exceeded', redis.call('TTL', quota_key)} end
    if redis.call('INCR', quota_key) == 1 then redis.call('EXPIRE', quota_key, window) end
  end
  create(key, floor_key, cart_id, now)
end

if new <= 0 then
  redis.call('HDEL', key, 'l:' .. pid, 'a:' .. pid)
elseif current == 0 then
  add_line(key, pid, new)
else
  redis.call('HSET', key, 'l:' .. pid, new)
end
touch(key, now, ttl)
return {'ok', snapshot(key)}
"""
)

# KEYS: cart.  ARGV: now, ttl
CLEAR = (
    _PRELUDE
    + """
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return {'unchanged', {}} end
local fields = {}
for _, f in ipairs(redis.call('HKEYS', key)) do
  local kind = string.sub(f, 1, 2)
  if kind == 'l:' or kind == 'a:' then table.insert(fields, f) end
end
if #fields == 0 then return {'unchanged', snapshot(key)} end
redis.call('HDEL', key, unpack(fields))
touch(key, ARGV[1], tonumber(ARGV[2]))
return {'ok', snapshot(key)}
"""
)

# KEYS: cart, order marker.  ARGV: marker ttl, now, cart ttl, then product id / quantity pairs.
# Idempotent per order: the marker is set in the same atomic step as the subtraction.
SUBTRACT = (
    _PRELUDE
    + """
local key, marker = KEYS[1], KEYS[2]
local marker_ttl, now, ttl = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local exists = redis.call('EXISTS', key) == 1
if not redis.call('SET', marker, '1', 'NX', 'EX', marker_ttl) then
  if exists then return {'duplicate', snapshot(key)} end
  return {'duplicate', {}}
end
if not exists then return {'ok', {}} end
local changed = false
for i = 4, #ARGV, 2 do
  local field = 'l:' .. ARGV[i]
  local current = redis.call('HGET', key, field)
  if current then
    local left = tonumber(current) - tonumber(ARGV[i + 1])
    if left <= 0 then
      redis.call('HDEL', key, field, 'a:' .. ARGV[i])
    else
      redis.call('HSET', key, field, left)
    end
    changed = true
  end
end
if changed then touch(key, now, ttl) end
return {'ok', snapshot(key)}
"""
)

# KEYS: user cart, guest cart, user's version floor
# ARGV: ttl, id for a new cart, now, max per line, max lines, then product id / available pairs
# covering every line of the guest cart ('retry' if the guest cart gained a line meanwhile).
MERGE = (
    _PRELUDE
    + """
local user, guest, floor_key = KEYS[1], KEYS[2], KEYS[3]
local ttl, cart_id, now = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local max_qty, max_lines = tonumber(ARGV[4]), tonumber(ARGV[5])
local exists = redis.call('EXISTS', user) == 1
if redis.call('EXISTS', guest) == 0 then
  if exists then return {'unchanged', snapshot(user)} end
  return {'unchanged', {}}
end
local available = {}
for i = 6, #ARGV, 2 do available[ARGV[i]] = tonumber(ARGV[i + 1]) end

local raw = redis.call('HGETALL', guest)
local lines, order = {}, {}
for i = 1, #raw, 2 do
  local kind, pid = string.sub(raw[i], 1, 2), string.sub(raw[i], 3)
  if kind == 'l:' then
    if available[pid] == nil then return {'retry'} end
    table.insert(lines, {pid, tonumber(raw[i + 1])})
  elseif kind == 'a:' then
    order[pid] = tonumber(raw[i + 1])
  end
end
-- Merge in the order the guest added the lines, so the line cap keeps the oldest ones.
table.sort(lines, function(a, b)
  local sa, sb = order[a[1]] or 0, order[b[1]] or 0
  if sa == sb then return a[1] < b[1] end
  return sa < sb
end)

local count = 0
if exists then count = line_count(user) end
local changed = false
for _, line in ipairs(lines) do
  local pid, guest_qty = line[1], line[2]
  local current = 0
  if exists then current = tonumber(redis.call('HGET', user, 'l:' .. pid) or '0') end
  -- Quantities add, capped by stock and the line limit; never lower what the user had.
  local merged = math.min(current + guest_qty, max_qty, available[pid])
  if merged > current and (current > 0 or count < max_lines) then
    if not exists then
      create(user, floor_key, cart_id, now)
      exists = true
    end
    if current == 0 then
      add_line(user, pid, merged)
      count = count + 1
    else
      redis.call('HSET', user, 'l:' .. pid, merged)
    end
    changed = true
  end
end
redis.call('DEL', guest)
if changed then touch(user, now, ttl) end
if exists then return {changed and 'ok' or 'unchanged', snapshot(user)} end
return {'unchanged', {}}
"""
)

# KEYS: user cart, version floor.  Reads the cart for the order service and records its version
# as the floor: a cart re-created after it expired then never repeats a version an order holds.
READ_FOR_ORDER = """
local key, floor_key = KEYS[1], KEYS[2]
local floor = tonumber(redis.call('GET', floor_key) or '0')
if redis.call('EXISTS', key) == 0 then return {floor, {}} end
local version = tonumber(redis.call('HGET', key, 'version') or '0')
if version > floor then redis.call('SET', floor_key, version) end
return {version, redis.call('HGETALL', key)}
"""
