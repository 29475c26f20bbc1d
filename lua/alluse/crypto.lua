-- alluse.crypto: SHA-256, HMAC-SHA256 and secure random bytes from OpenSSL, plus
-- hex and base64 codecs.  Digests are returned raw (32 bytes); the *_hex variants
-- return lowercase hex.  Decoders return nil, message on bad input.
local core = require("alluse.core.crypto")

local M = {
  sha256 = core.sha256,
  hmac_sha256 = core.hmac_sha256,
  random_bytes = core.random_bytes,
  hex = core.hex_encode,
  unhex = core.hex_decode,
  base64 = core.base64_encode,
  unbase64 = core.base64_decode,
}

function M.sha256_hex(s)
  return core.hex_encode(core.sha256(s))
end

function M.hmac_sha256_hex(key, msg)
  return core.hex_encode(core.hmac_sha256(key, msg))
end

-- Compare two secrets (tokens, MACs) in time that does not depend on where they differ.
function M.equal(a, b)
  if type(a) ~= "string" or type(b) ~= "string" then
    error("crypto.equal: expects two strings", 2)
  end
  if #a ~= #b then return false end
  local diff = 0
  for i = 1, #a do
    diff = bit.bor(diff, bit.bxor(a:byte(i), b:byte(i)))
  end
  return diff == 0
end

return M
