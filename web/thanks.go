package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// thanks is what the thank-you page shows. It travels in the redirect's URL,
// signed, so that the page works in third-party iframes where cookies don't.
// It holds no full phone number.
type thanks struct {
	Lang       string   `json:"l"`
	Embed      bool     `json:"e,omitempty"`
	Double     bool     `json:"d,omitempty"`
	NothingNew bool     `json:"n,omitempty"`
	Phone      string   `json:"p"`
	Categories []string `json:"c"`
}

func (s *Server) signThanks(t thanks) string {
	body, _ := json.Marshal(t)
	payload := base64.RawURLEncoding.EncodeToString(body)
	return payload + "." + s.mac("thanks:"+payload)
}

func (s *Server) openThanks(token string) (thanks, bool) {
	payload, sig, ok := strings.Cut(token, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.mac("thanks:"+payload))) {
		return thanks{}, false
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
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
