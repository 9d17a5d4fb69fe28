package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
)

// startupNotes tells whoever starts optin where the console is, how to get
// into it when nobody can yet, and what in the configuration will not work
// with a real WhatsApp number.
func startupNotes(ctx context.Context, cfg config, admins func(context.Context) ([]consent.AdminUser, error), log *slog.Logger, stdout io.Writer) error {
	if cfg.Provider != "sandbox" && loopbackURL(cfg.BaseURL) {
		log.Warn("OPTIN_BASE_URL is a loopback address while a live provider is configured: "+
			"links and QR codes point nowhere for real people and the provider cannot reach the webhook; set OPTIN_BASE_URL to the public https URL",
			"base_url", cfg.BaseURL, "provider", cfg.Provider)
	}
	console := cfg.BaseURL + "/admin/"
	fmt.Fprintf(stdout, "  Admin console: %s\n", console)
	users, err := admins(ctx)
	if err != nil {
		return err
	}
	active := 0
	for _, u := range users {
		if u.Active() && u.Role == consent.RoleAdmin {
			active++
		}
	}
	log.Info("admin console", "url", console, "admins", active)
	if active == 0 {
		hint := "optin admin add EMAIL --db " + store.Display(cfg.DB)
		fmt.Fprintf(stdout, "  No console admin yet: add the first with  %s  (password on stdin; empty generates one)\n", hint)
		log.Warn("no console admin yet: add the first with optin admin add", "command", hint)
	}
	return nil
}

// loopbackURL reports whether u's host is this machine only.
func loopbackURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	host := strings.ToLower(p.Hostname())
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

// regretEvery is how often serve recomputes the entry points' regret rates.
const regretEvery = 10 * time.Minute

// checkRegret raises, at start and then every regretEvery, an alert for each
// entry point whose regret rate is above OPTIN_REGRET_ALERT.
func checkRegret(ctx context.Context, svc *consent.Service, log *slog.Logger) {
	t := time.NewTicker(regretEvery)
	defer t.Stop()
	for {
		if n, err := svc.CheckRegret(ctx); err != nil && ctx.Err() == nil {
			log.Error("regret rate check", "err", err)
		} else if n > 0 {
			log.Warn("entry points with a high regret rate: see the console's alerts", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
