// Command optin runs the consent and opt-in manager: optin serve (the
// default), optin apikey create NAME, optin version.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
	"github.com/optin/optin/web"
	"github.com/optin/optin/web/forward"
	"github.com/optin/optin/web/i18n"
	"github.com/optin/optin/web/sandbox"
	"github.com/optin/optin/web/whatsapp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "optin:", err)
		os.Exit(1)
	}
}

// run is optin's whole command line, with its environment passed in so that
// tests can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "optin", version())
		return nil
	case "apikey":
		return apikey(ctx, args, getenv, stdout, stderr)
	case "admin":
		return admin(ctx, args, getenv, stdin, stdout, stderr)
	case "webhook":
		return webhook(ctx, args, getenv, stdout, stderr)
	case "entry":
		return entry(ctx, args, getenv, stdout, stderr)
	case "audit":
		return audit(ctx, args, getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		usage(stdout)
		return nil
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", cmd)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  optin [serve] [flags]          run the server (optin serve -h lists the settings)
  optin admin add EMAIL [--role admin|viewer]
                                 add a console user; password on stdin (empty: generated, printed once)
  optin apikey create NAME [--scope read|write]
                                 create an API key and print it once
  optin entry add|list [flags]   create an entry point (wa.me link, short link, QR) or list them
  optin audit verify [--db FILE] verify the events' hash chain; exit 1 at the first bad event
  optin webhook register [flags] tell the provider (360dialog, v1) to call BASE_URL/webhook
  optin healthcheck [--addr A]   exit 0 when the optin at OPTIN_ADDR answers /healthz ok, else 1
  optin version                  print the version
`)
}

// version is the module version, or the VCS revision of a source build.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "dev-" + s.Value[:12]
		}
	}
	return "dev"
}

// serve runs optin until ctx ends, then shuts down gracefully: the listener
// stops, requests in flight finish, the workers finish the message or
// webhook they hold, and the database closes.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet()
	fs.SetOutput(stderr)
	cfg, err := loadConfig(args, getenv, fs)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	var storeOpts []store.Option
	if cfg.ForwardURL != "" {
		storeOpts = append(storeOpts, store.PushEvents()) // consent.changed, contact.erased
	}
	db, err := store.Open(ctx, cfg.DB, storeOpts...)
	if err != nil {
		return err
	}
	defer db.Close()
	if n, err := db.ReleaseLeases(ctx, time.Now().UTC()); err != nil {
		return err
	} else if n > 0 {
		log.Warn("outbox: messages cut off by the last stop are unknown (not sent again; admins see them with a resend button)", "count", n)
	}
	sessionKey, err := db.Secret(ctx, "admin_session_key", 64)
	if err != nil {
		return err
	}
	linkKey, err := db.Secret(ctx, "link_key", 32)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	// The sandbox talks to optin's own listener, whatever the public URL.
	selfURL := "http://" + loopback(ln.Addr())
	if cfg.baseURLDefaulted {
		if _, port, _ := net.SplitHostPort(cfg.Addr); port == "0" {
			cfg.BaseURL = selfURL
		}
	}

	entryKey, err := db.Secret(ctx, "entry_key", 32)
	if err != nil {
		return err
	}
	tombstoneKey, err := db.Secret(ctx, "tombstone_salt", 32)
	if err != nil {
		return err
	}
	svc := consent.NewService(db, consent.SystemClock{}, i18n.T, consent.Config{
		BusinessName:      cfg.BusinessName,
		BusinessNumber:    cfg.BusinessNumber,
		DefaultRegion:     cfg.DefaultRegion,
		Mode:              consent.Mode(cfg.OptInMode),
		WelcomeTemplate:   cfg.WelcomeTemplate,
		WelcomeLanguage:   cfg.WelcomeLanguage,
		WelcomeLanguages:  cfg.WelcomeLanguages,
		TemplateNamespace: cfg.TemplateNamespace,
		EntryKey:          entryKey,
		BaseURL:           cfg.BaseURL,
		TermsTTL:          cfg.TermsTTL,
		HelpContact:       cfg.HelpContact,
		Forwarding:        cfg.ForwardURL != "",
		TombstoneKey:      tombstoneKey,
		SendRate:          cfg.SendRate,
		DailyCap:          cfg.DailyCap,
		Jurisdiction:      cfg.Jurisdiction,
		ControllerContact: cfg.ControllerContact,
		ControllerAddress: cfg.ControllerAddress,
		ControllerCountry: cfg.ControllerCountry,
		ControllerEmail:   cfg.ControllerEmail,
		NamespaceRequired: cfg.Provider == "v1",
		RegretThreshold:   cfg.RegretAlert,
		ContactCard:       cfg.ContactCard,
		ReadReceipts:      cfg.ReadReceipts,
	})
	// Settings an admin saved override the environment's values.
	if err := svc.LoadSettings(ctx); err != nil {
		return err
	}
	if err := svc.LoadQuality(ctx); err != nil {
		return err
	}

	var sender consent.Sender
	var phone *sandbox.Phone
	webhookSecret := cfg.WebhookSecret
	if cfg.Provider == "sandbox" {
		if webhookSecret == "" {
			webhookSecret = randomHex(32)
		}
		phone = sandbox.New(sandbox.Options{
			WebhookURL:     selfURL + "/webhook",
			Secret:         webhookSecret,
			BusinessName:   cfg.BusinessName,
			BusinessNumber: cfg.BusinessNumber,
			Log:            log.With("component", "sandbox"),
			EntryPoints: func(ctx context.Context) ([]sandbox.EntryChoice, error) {
				eps, err := svc.EntryPoints(ctx)
				if err != nil {
					return nil, err
				}
				choices := make([]sandbox.EntryChoice, 0, len(eps))
				for _, e := range eps {
					choices = append(choices, sandbox.EntryChoice{Code: e.Code, Name: e.Name, StartText: svc.StartText(e.Code)})
				}
				return choices, nil
			},
		})
		defer phone.Close()
		sender = phone
	} else {
		sender, err = whatsapp.New(whatsapp.Config{
			Provider:      cfg.Provider,
			URL:           cfg.ProviderURL,
			Token:         cfg.ProviderToken,
			PhoneNumberID: cfg.PhoneNumberID,
			HTTPClient:    &http.Client{Timeout: 30 * time.Second},
		})
		if err != nil {
			return err
		}
	}

	dispatcher := &consent.Dispatcher{Store: db, Sender: sender, Clock: consent.SystemClock{},
		Log: log.With("component", "outbox"), Rate: cfg.SendRate}
	dispatcher.OnMarketingStopped = svc.MarketingStopped
	dispatcher.Personalize = svc.FillPreferenceLink
	dispatcher.Limits = svc.SendLimits
	svc.OnEnqueue(dispatcher.Wake)
	inbox := consent.NewInboxWorker(svc, db, whatsapp.ParseWebhook, log.With("component", "inbox"))
	var forwarder *consent.ForwardWorker
	if cfg.ForwardURL != "" {
		forwarder = consent.NewForwardWorker(svc, db, &forward.Client{URL: cfg.ForwardURL, Secret: []byte(cfg.ForwardSecret),
			HTTP: &http.Client{Timeout: 15 * time.Second}}, log.With("component", "forward"))
	}

	wcfg := web.Config{
		BaseURL:        cfg.BaseURL,
		BusinessName:   cfg.BusinessName,
		DefaultRegion:  cfg.DefaultRegion,
		Provider:       cfg.Provider,
		WebhookSecret:  webhookSecret,
		AppSecret:      cfg.AppSecret,
		VerifyToken:    cfg.VerifyToken,
		FrameOrigins:   cfg.FrameOrigins,
		FormLimit:      cfg.FormLimit,
		TrustedProxies: cfg.TrustedProxies,
		LinkKey:        linkKey,
		SessionKey:     sessionKey,
		MetricsToken:   cfg.MetricsToken,
		Health:         db.Ping,
		Version:        version(),
	}
	if phone != nil {
		wcfg.Sandbox = phone
		wcfg.SandboxAdminOnly = cfg.SandboxAccess == "admin"
	}
	srv := &http.Server{
		Handler:           web.New(wcfg, svc, log),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var workers sync.WaitGroup
	workers.Go(func() { dispatcher.Run(workCtx) })
	workers.Go(func() { inbox.Run(workCtx) })
	if forwarder != nil {
		workers.Go(func() { forwarder.Run(workCtx) })
	}
	workers.Go(func() { expireTerms(workCtx, svc, log) })
	workers.Go(func() { purgeTexts(workCtx, db, cfg.MessageRetention, log) })
	workers.Go(func() { checkRegret(workCtx, svc, log) })
	workers.Go(func() {
		if err := svc.ResumeImports(workCtx); err != nil {
			log.Error("resume csv imports", "err", err)
		}
	})

	log.Info("optin listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL,
		"provider", cfg.Provider, "db", store.Display(cfg.DB), "version", version())
	var notes strings.Builder
	if err := startupNotes(ctx, cfg, svc.ListAdmins, log, &notes); err != nil {
		log.Error("startup notes", "err", err)
	}
	fmt.Fprintf(stdout, "optin listening on %s\n  Opt-in form:   %s/optin\n", selfURL, cfg.BaseURL)
	if cfg.Provider == "sandbox" {
		fmt.Fprintf(stdout, "  Sandbox phone: %s/sandbox (the sandbox provider: no real WhatsApp messages are sent)\n", cfg.BaseURL)
	}
	io.WriteString(stdout, notes.String())
	// The listener is open since net.Listen: connections made after the
	// lines above wait in its backlog until Serve takes them.
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err = <-serveErr:
	case <-ctx.Done():
		log.Info("shutting down")
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutCtx); serr != nil {
		log.Error("shutdown", "err", serr)
	}
	stopWork()
	workers.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func newFlagSet() *flag.FlagSet { return flag.NewFlagSet("optin serve", flag.ContinueOnError) }

// expireTerms erases, once a minute, the people who never answered the
// terms prompt within OPTIN_TERMS_TTL.
func expireTerms(ctx context.Context, svc *consent.Service, log *slog.Logger) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if n, err := svc.ExpireTerms(ctx); err != nil {
			log.Error("terms expiry", "err", err)
		} else if n > 0 {
			log.Info("unanswered terms prompts expired", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// purgeTexts removes, at start and then daily, the text of messages older
// than OPTIN_MESSAGE_RETENTION.
func purgeTexts(ctx context.Context, db *store.DB, keep time.Duration, log *slog.Logger) {
	t := time.NewTicker(24 * time.Hour)
	defer t.Stop()
	for {
		if n, err := db.PurgeMessageTexts(ctx, time.Now().UTC().Add(-keep)); err != nil {
			log.Error("message retention", "err", err)
		} else if n > 0 {
			log.Info("message texts past retention removed", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// loopback is the address at which this process reaches its own listener.
func loopback(a net.Addr) string {
	_, port, _ := net.SplitHostPort(a.String())
	return net.JoinHostPort("127.0.0.1", port)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// apikey creates an API key: optin apikey create NAME [--scope read|write].
func apikey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "create" {
		return errors.New("usage: optin apikey create NAME [--scope read|write] [--db FILE]")
	}
	name := args[1]
	fs := flag.NewFlagSet("optin apikey create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scope := fs.String("scope", "read", "read or write")
	dbPath := fs.String("db", envOr(getenv, "OPTIN_DB", "optin.db"), "SQLite database file or postgres:// URL ($OPTIN_DB)")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	db, err := store.Open(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := consent.NewService(db, consent.SystemClock{}, i18n.T, consent.Config{})
	key, k, err := svc.CreateAPIKey(ctx, name, *scope)
	var verr *consent.ValidationError
	if errors.As(err, &verr) {
		return fmt.Errorf("the name must be 1–100 characters and the scope read or write")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", key)
	fmt.Fprintf(stderr, "API key %q (scope %s) created. It is shown only this once: store it now.\n", k.Name, k.Scope)
	return nil
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}
