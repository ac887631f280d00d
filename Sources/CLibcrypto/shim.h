// OpenSSL 3's libcrypto (Debian libssl-dev): TTSCore's SHA-256, and tts-bench's raw baseline for
// it. Nothing here needs a wrapper: EVP_MD_fetch, EVP_Digest, EVP_DigestInit_ex2/Update/Final_ex
// and SHA256() are not variadic.
#include <openssl/sha.h>
#include <openssl/evp.h>
