package web

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Behind a TLS proxy every connection comes from the proxy. The proxy names
// the real client in X-Forwarded-For or Forwarded (RFC 7239), but anybody can
// send those headers: optin believes them only when the connection comes from
// one of Config.TrustedProxies, and then walks the list of hops from the
// right (the hop nearest optin) and takes the first address that is not a
// trusted proxy itself. Everything left of it was written by the client and
// is ignored.
//
// X-Forwarded-For is read before Forwarded: Caddy and nginx (as the README
// configures them) append to X-Forwarded-For and do not touch Forwarded, so a
// Forwarded header sent by a client would pass through them unchanged. A
// proxy that only writes Forwarded must drop the client's X-Forwarded-For.

// clientKey is the context key of the request's clientInfo.
type clientKey struct{}

// clientInfo is who sent the request, as far as optin can tell.
type clientInfo struct {
	ip    string // the client's address, no port
	proto string // "http" or "https" as the client used it
	// proxied is set when a trusted proxy passed the request on.
	proxied bool
}

// ParseTrustedProxies turns comma-separated CIDRs (or single addresses) into
// prefixes; it reports the first entry that is neither.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if !strings.Contains(e, "/") {
			a, err := netip.ParseAddr(e)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(e)
		if err != nil {
			return nil, err
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// trusted reports whether addr is one of the trusted proxies.
func (s *Server) trusted(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// realClient finds the client of every request before any handler runs, so
// that evidence, the form limits and the audit log all see the same address.
func (s *Server) realClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := s.client(r)
		if c.proxied && c.proto == "http" && s.secure {
			s.plainHTTP.Do(func() {
				s.log.Warn("a trusted proxy forwards plain http but OPTIN_BASE_URL is https: people may reach optin without TLS")
			})
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, c)))
	})
}

// client works out the request's clientInfo from the peer address and, when
// the peer is a trusted proxy, from its forwarding headers.
func (s *Server) client(r *http.Request) clientInfo {
	peer := peerAddr(r.RemoteAddr)
	c := clientInfo{ip: peer.String()}
	if !peer.IsValid() {
		c.ip = r.RemoteAddr
	}
	if r.TLS != nil {
		c.proto = "https"
	} else {
		c.proto = "http"
	}
	if !peer.IsValid() || !s.trusted(peer) {
		return c
	}
	hops, protos := forwardedHops(r.Header)
	// Walk from the hop nearest optin. Each trusted hop vouches for the one
	// before it; the first untrusted address is the client.
	ip, idx := peer, -1
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break // "unknown" or garbage: the last good hop is all optin knows
		}
		ip, idx = a, i
		if !s.trusted(a) {
			break
		}
	}
	c.ip, c.proxied = ip.String(), true
	// Forwarded names the protocol per hop; X-Forwarded-Proto is one value
	// set (or appended) by the nearest proxy, so its last entry counts.
	p := ""
	if len(protos) == len(hops) && idx >= 0 {
		p = protos[idx]
	} else if len(protos) > 0 {
		p = protos[len(protos)-1]
	}
	if p == "http" || p == "https" {
		c.proto = p
	}
	return c
}

// forwardedHops lists the addresses a request passed through, leftmost
// first, with the protocol each hop was reached by where the headers say.
func forwardedHops(h http.Header) (hops, protos []string) {
	if xff := h.Values("X-Forwarded-For"); len(xff) > 0 {
		for _, v := range xff {
			for _, e := range strings.Split(v, ",") {
				hops = append(hops, strings.TrimSpace(e))
			}
		}
		for _, v := range h.Values("X-Forwarded-Proto") {
			for _, e := range strings.Split(v, ",") {
				protos = append(protos, strings.ToLower(strings.TrimSpace(e)))
			}
		}
		return hops, protos
	}
	for _, v := range h.Values("Forwarded") {
		for _, elem := range strings.Split(v, ",") {
			var hop, proto string
			for _, pair := range strings.Split(elem, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if !ok {
					continue
				}
				val = strings.Trim(strings.TrimSpace(val), `"`)
				switch strings.ToLower(strings.TrimSpace(k)) {
				case "for":
					hop = val
				case "proto":
					proto = strings.ToLower(val)
				}
			}
			hops = append(hops, hop)
			protos = append(protos, proto)
		}
	}
	return hops, protos
}

// parseHop reads one hop: an address, with or without a port, IPv6 in
// brackets or not ("192.0.2.1", "192.0.2.1:4711", "[2001:db8::1]:4711").
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}

// peerAddr is the address of the connection's other end.
func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// clientIP is the address of the person behind the request: the peer, or,
// through a trusted proxy, the address the proxy names (see realClient).
func clientIP(r *http.Request) string {
	if c, ok := r.Context().Value(clientKey{}).(clientInfo); ok {
		return c.ip
	}
	if a := peerAddr(r.RemoteAddr); a.IsValid() {
		return a.String()
	}
	return r.RemoteAddr
}
