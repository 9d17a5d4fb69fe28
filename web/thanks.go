package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
)

// thanks is what the thank-you page shows. It travels in the redirect's URL,
// so that the page works in third-party iframes where cookies don't:
// encrypted and authenticated (AES-GCM under a key derived from the link
// key), because it holds the whole number, shown so that the person can
// catch a typo, and URLs end up in logs and histories.
type thanks struct {
	Lang       string   `json:"l"`
	Embed      bool     `json:"e,omitempty"`
	Double     bool     `json:"d,omitempty"`
	NothingNew bool     `json:"n,omitempty"`
	Phone      string   `json:"p"`
	Categories []string `json:"c"`
}

// thanksAEAD is the cipher of thank-you tokens.
func (s *Server) thanksAEAD() cipher.AEAD {
	key := sha256.Sum256(append([]byte("optin thanks token v2\x00"), s.cfg.LinkKey...))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

func (s *Server) signThanks(t thanks) string {
	body, _ := json.Marshal(t)
	aead := s.thanksAEAD()
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, body, []byte("thanks")))
}

func (s *Server) openThanks(token string) (thanks, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	aead := s.thanksAEAD()
	if err != nil || len(raw) < aead.NonceSize() {
		return thanks{}, false
	}
	body, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte("thanks"))
	if err != nil {
		return thanks{}, false
	}
	var t thanks
	if json.Unmarshal(body, &t) != nil {
		return thanks{}, false
	}
	return t, true
}

// mac signs msg with the server's link key.
func (s *Server) mac(msg string) string {
	h := hmac.New(sha256.New, s.cfg.LinkKey)
	h.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}
