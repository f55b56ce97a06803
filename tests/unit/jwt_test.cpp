#include "bazaar/gateway/jwt.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <variant>
#include <vector>

namespace auth = bazaar::auth;

namespace {

/// Secret the hand-made tokens below were signed with (openssl dgst -sha256 -hmac at a shell).
constexpr const char* test_secret = "test-secret-123";

/// A fixed point in time before every `exp` used below.
constexpr std::int64_t now = 1'600'000'000;

/// The claims used by most cases.
auth::claims alice(std::int64_t expires_at = 1'700'000'000) {
  auth::claims c;
  c.subject = "alice";
  c.user_role = auth::role::customer;
  c.expires_at = expires_at;
  return c;
}

/// The error verify() reports, failing the test if it accepted the token.
auth::verify_error rejection(std::string_view token, std::string_view secret = test_secret,
                             std::int64_t at = now) {
  auto result = auth::verify(token, secret, at);
  REQUIRE(std::holds_alternative<auth::verify_error>(result));
  return std::get<auth::verify_error>(result);
}

} // namespace

TEST_CASE("a signed token verifies and yields its claims") {
  const std::string token = auth::sign(alice(), test_secret);
  auto result = auth::verify(token, test_secret, now);
  REQUIRE(std::holds_alternative<auth::claims>(result));
  const auto& c = std::get<auth::claims>(result);
  CHECK(c.subject == "alice");
  CHECK(c.user_role == auth::role::customer);
  CHECK(c.expires_at == 1'700'000'000);
}

TEST_CASE("an admin token round-trips its role") {
  auth::claims c = alice();
  c.subject = "ops:root-1.b_2";
  c.user_role = auth::role::admin;
  auto result = auth::verify(auth::sign(c, test_secret), test_secret, now);
  REQUIRE(std::holds_alternative<auth::claims>(result));
  CHECK(std::get<auth::claims>(result).user_role == auth::role::admin);
  CHECK(std::get<auth::claims>(result).subject == "ops:root-1.b_2");
}

TEST_CASE("sign matches an independently computed HMAC-SHA256 known answer") {
  // printf %s 'HEADER.PAYLOAD' | openssl dgst -sha256 -hmac known-answer-secret -binary
  //   | basenc --base64url
  const std::string expected =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
      ".eyJzdWIiOiJhbGljZSIsInJvbGUiOiJjdXN0b21lciIsImV4cCI6MTcwMDAwMDAwMH0"
      ".r3GdHpDB_xAHj-6yPV_SXUREPyqMuPa_zSO11t7ahK0";
  CHECK(auth::sign(alice(), "known-answer-secret") == expected);
}

TEST_CASE("a token made by another implementation verifies") {
  // Minimal header {"alg":"HS256"} without typ; claims sub bob, role admin.
  const std::string token =
      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IiLCJyb2xlIjoiYWRtaW4iLCJleHAiOjE3MDAwMDAwMDB9"
      ".K10dw0EnAcq2MzqkfIRQbHhTGSA60ggthavZyzPFc8o";
  auto result = auth::verify(token, test_secret, now);
  REQUIRE(std::holds_alternative<auth::claims>(result));
  CHECK(std::get<auth::claims>(result).subject == "bob");
  CHECK(std::get<auth::claims>(result).user_role == auth::role::admin);
}

TEST_CASE("a token signed with another secret has a bad signature") {
  const std::string token = auth::sign(alice(), "some-other-secret");
  CHECK(rejection(token) == auth::verify_error::bad_signature);
}

TEST_CASE("a token whose payload was altered after signing has a bad signature") {
  const std::string token = auth::sign(alice(), test_secret);
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  // {"sub":"alice","role":"admin","exp":1700000000}
  const std::string forged = token.substr(0, first + 1) +
                             "eyJzdWIiOiJhbGljZSIsInJvbGUiOiJhZG1pbiIsImV4cCI6MTcwMDAwMDAwMH0" +
                             token.substr(second);
  CHECK(rejection(forged) == auth::verify_error::bad_signature);
}

TEST_CASE("a truncated or extended signature is a bad signature") {
  const std::string token = auth::sign(alice(), test_secret);
  CHECK(rejection(token.substr(0, token.size() - 4)) == auth::verify_error::bad_signature);
  CHECK(rejection(token + "AAAA") == auth::verify_error::bad_signature);
}

TEST_CASE("an unsigned token with alg none is an unsupported algorithm") {
  const std::string token =
      "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSIsInJvbGUiOiJhZG1pbiIsImV4cCI6MTcwMDAwMDAwMH0.";
  CHECK(rejection(token) == auth::verify_error::unsupported_algorithm);
}

TEST_CASE("an HS512 header is an unsupported algorithm even with a valid HS256 signature") {
  const std::string token = "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9"
                            ".eyJzdWIiOiJhbGljZSIsInJvbGUiOiJjdXN0b21lciIsImV4cCI6MTcwMDAwMDAwMH0"
                            ".CXDXLp8kCmCME0En7_nrQzkIS383FBa0Pg4FaMYB2CY";
  CHECK(rejection(token) == auth::verify_error::unsupported_algorithm);
}

TEST_CASE("a header with critical extensions is rejected as unsupported") {
  const std::string token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImNyaXQiOlsieCJdfQ"
                            ".eyJzdWIiOiJhbGljZSIsInJvbGUiOiJjdXN0b21lciIsImV4cCI6MTcwMDAwMDAwMH0"
                            ".1Ajtym67lKLtfcuGzx7aIsVf-DcjGwjiPi7aahidiNc";
  CHECK(rejection(token) == auth::verify_error::unsupported_algorithm);
}

TEST_CASE("a token is expired from its exp second on") {
  const std::string token = auth::sign(alice(1'700'000'000), test_secret);
  CHECK(std::holds_alternative<auth::claims>(auth::verify(token, test_secret, 1'699'999'999)));
  CHECK(rejection(token, test_secret, 1'700'000'000) == auth::verify_error::expired);
  CHECK(rejection(token, test_secret, 1'800'000'000) == auth::verify_error::expired);
}

TEST_CASE("a token without exp has invalid claims") {
  const std::string token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
                            ".eyJzdWIiOiJhbGljZSIsInJvbGUiOiJjdXN0b21lciJ9"
                            ".Tj0naot4notKWantkhcBqK3dcPB5ZXCQhFpS3YvxLp0";
  CHECK(rejection(token) == auth::verify_error::invalid_claims);
}

TEST_CASE("an exp that is not an integer makes the claims invalid") {
  const std::string as_string =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
      ".eyJzdWIiOiJhbGljZSIsInJvbGUiOiJjdXN0b21lciIsImV4cCI6IjE3MDAwMDAwMDAifQ"
      ".hVbSjFmTr601zqiwkOem35773IlQ4DwPhdhX8xATbRw";
  const std::string as_float = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
                               ".eyJzdWIiOiJhbGljZSIsInJvbGUiOiJjdXN0b21lciIsImV4cCI6MS43ZTl9"
                               ".MQ2uqUTxvHSpBG0RCFBKoNKkefCRHfDlIMxRdTXDGUo";
  CHECK(rejection(as_string) == auth::verify_error::invalid_claims);
  CHECK(rejection(as_float) == auth::verify_error::invalid_claims);
}

TEST_CASE("an unknown role makes the claims invalid") {
  const std::string token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
                            ".eyJzdWIiOiJhbGljZSIsInJvbGUiOiJyb290IiwiZXhwIjoxNzAwMDAwMDAwfQ"
                            ".Q5ktt1VsbmmKdmKUIE6GQ730ROp9ZfbGY4mHGdcWkao";
  CHECK(rejection(token) == auth::verify_error::invalid_claims);
}

TEST_CASE("a missing or malformed subject makes the claims invalid") {
  const std::string no_sub = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
                             ".eyJyb2xlIjoiY3VzdG9tZXIiLCJleHAiOjE3MDAwMDAwMDB9"
                             ".DvLMZOYMv7GQTiM8SJLw6QMve2O1VdmjXbEsSUuXNnM";
  CHECK(rejection(no_sub) == auth::verify_error::invalid_claims);

  for (const std::string& bad : std::vector<std::string>{
           "", "al ice", "alice/1", "\xc3\xa9t\xc3\xa9", std::string(65, 'a')}) {
    auth::claims c = alice();
    c.subject = bad;
    CHECK(rejection(auth::sign(c, test_secret)) == auth::verify_error::invalid_claims);
  }
  auth::claims longest = alice();
  longest.subject = std::string(64, 'a');
  CHECK(std::holds_alternative<auth::claims>(
      auth::verify(auth::sign(longest, test_secret), test_secret, now)));
}

TEST_CASE("garbage, wrong segment counts and bad base64url are malformed") {
  const std::string good = auth::sign(alice(), test_secret);
  const auto first = good.find('.');
  const auto second = good.find('.', first + 1);
  CHECK(rejection("") == auth::verify_error::malformed);
  CHECK(rejection("garbage") == auth::verify_error::malformed);
  CHECK(rejection("..") == auth::verify_error::malformed);
  CHECK(rejection(good.substr(0, second)) == auth::verify_error::malformed);
  CHECK(rejection(good + ".extra") == auth::verify_error::malformed);
  // A character outside the base64url alphabet in the header.
  CHECK(rejection("eyJhbGciOiJIUzI1NiIsInR5cCI6Ik+XVCJ9" + good.substr(first)) ==
        auth::verify_error::malformed);
  // Padding is not accepted.
  CHECK(rejection(good + "=") == auth::verify_error::malformed);
  CHECK(rejection("eyJhbGciOiJIUzI1NiJ9=" + good.substr(first)) == auth::verify_error::malformed);
  // An impossible length (4n+1 characters) in the signature.
  CHECK(rejection(good.substr(0, second) + ".AAAAA") == auth::verify_error::malformed);
}

TEST_CASE("a header or payload that is not a JSON object is malformed") {
  // Header "not json" in base64url.
  CHECK(rejection("bm90IGpzb24.e30.AAAA") == auth::verify_error::malformed);
  // Header [1].
  CHECK(rejection("WzFd.e30.AAAA") == auth::verify_error::malformed);
  // Payload [1,2], correctly signed.
  CHECK(rejection("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.WzEsMl0"
                  ".oKgnHlrWmw0egWGQTrRQ3TCNsMsyrz7rRt-ypntIztc") == auth::verify_error::malformed);
}

TEST_CASE("roles and errors have stable names") {
  CHECK(auth::to_string(auth::role::customer) == "customer");
  CHECK(auth::to_string(auth::role::admin) == "admin");
  CHECK(auth::parse_role("admin") == auth::role::admin);
  CHECK(auth::parse_role("customer") == auth::role::customer);
  CHECK_FALSE(auth::parse_role("Admin").has_value());
  CHECK_FALSE(auth::parse_role("").has_value());
  CHECK(auth::to_string(auth::verify_error::malformed) == "malformed");
  CHECK(auth::to_string(auth::verify_error::unsupported_algorithm) == "unsupported_algorithm");
  CHECK(auth::to_string(auth::verify_error::bad_signature) == "bad_signature");
  CHECK(auth::to_string(auth::verify_error::expired) == "expired");
  CHECK(auth::to_string(auth::verify_error::invalid_claims) == "invalid_claims");
}
