-- alluse.crypto from Lua: the same published vectors, plus the Lua-facing contract.
local t = require("alluse.test")
local crypto = require("alluse.crypto")

t.is(crypto.sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "FIPS 180-2 abc")
t.is(crypto.sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "FIPS 180-2 empty")
t.is(crypto.sha256_hex(string.rep("a", 1000000)), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "FIPS 180-2 million a")
t.is(#crypto.sha256("x"), 32, "raw digest is 32 bytes")

local rfc4231 = {
  { string.rep("\11", 20), "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
  { "Jefe", "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
  { string.rep("\170", 20), string.rep("\221", 50), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
  { crypto.unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"), string.rep("\205", 50),
    "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
  { string.rep("\170", 131), "Test Using Larger Than Block-Size Key - Hash Key First",
    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
  { string.rep("\170", 131), "This is a test using a larger than block-size key and a larger than block-size data. "
    .. "The key needs to be hashed before being used by the HMAC algorithm.",
    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
}
for i, v in ipairs(rfc4231) do
  t.is(crypto.hmac_sha256_hex(v[1], v[2]), v[3], "RFC 4231 test case " .. (i < 5 and i or i + 1))
end
t.is(crypto.hmac_sha256_hex(string.rep("\12", 20), "Test With Truncation"):sub(1, 32),
  "a3b6167473100ee06e0c796c2955552b", "RFC 4231 test case 5 (truncated to 128 bits)")

for plain, enc in pairs({ [""] = "", f = "Zg==", fo = "Zm8=", foo = "Zm9v", foob = "Zm9vYg==",
                          fooba = "Zm9vYmE=", foobar = "Zm9vYmFy" }) do
  t.is(crypto.base64(plain), enc, "RFC 4648 base64 '" .. plain .. "'")
  t.is(crypto.unbase64(enc), plain, "RFC 4648 unbase64 '" .. enc .. "'")
end
local bin = "\0\1\2\255\254 binary \0"
t.is(crypto.unbase64(crypto.base64(bin)), bin, "base64 round trip of binary with NULs")
t.is(crypto.unhex(crypto.hex(bin)), bin, "hex round trip of binary with NULs")
local v, err = crypto.unbase64("not base64!")
t.ok(v == nil and err:find("base64"), "bad base64 returns nil, message")
local h, herr = crypto.unhex("xyz")
t.ok(h == nil and herr:find("hex"), "bad hex returns nil, message")

t.is(#crypto.random_bytes(0), 0, "random_bytes(0)")
t.is(#crypto.random_bytes(1000), 1000, "random_bytes(1000) length")
t.isnt(crypto.random_bytes(16), crypto.random_bytes(16), "random draws differ")
t.raises(function() crypto.random_bytes(-1) end, "0 .. 1048576", "negative size refused")
t.raises(function() crypto.random_bytes(2 ^ 40) end, "0 .. 1048576", "huge size refused")
t.raises(function() crypto.sha256(nil) end, "string expected", "sha256(nil) raises")
t.raises(function() crypto.hmac_sha256("k") end, "string expected", "hmac without message raises")

t.ok(crypto.equal("token-abc", "token-abc"), "equal: same")
t.ok(not crypto.equal("token-abc", "token-abd"), "equal: differ in last byte")
t.ok(not crypto.equal("token", "token-abc"), "equal: different lengths")
t.raises(function() crypto.equal("a", nil) end, "two strings", "equal: non-string raises")
