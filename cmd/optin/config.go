package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/web"
	"github.com/optin/optin/web/sandbox"
)

// config is every setting of optin serve (SPEC §3), read from the
// environment and then from flags, which win.
type config struct {
	Addr              string
	DB                string
	BaseURL           string
	BusinessName      string
	BusinessNumber    string
	DefaultRegion     string
	Provider          string
	ProviderURL       string
	ProviderToken     string
	PhoneNumberID     string
	WebhookSecret     string
	AppSecret         string
	VerifyToken       string
	OptInMode         string
	WelcomeTemplate   string
	WelcomeLanguage   string
	WelcomeLanguages  []string
	TemplateNamespace string
	SendRate          float64
	TermsTTL          time.Duration
	ForwardURL        string
	ForwardSecret     string
	FrameOrigins      []string
	FormLimit         int
	TrustedProxies    []netip.Prefix
	HelpContact       string
	MessageRetention  time.Duration
	MetricsToken      string
	DailyCap          int
	RegretAlert       float64
	ContactCard       bool
	ReadReceipts      bool
	Jurisdiction      string
	ControllerContact string
	ControllerAddress string
	ControllerCountry string
	ControllerEmail   string
	// SandboxAccess is who may open the sandbox phone: "public" or "admin"
	// (signed-in admins only). Only the sandbox provider has one.
	SandboxAccess string
	// Instance names this process among the instances sharing the
	// database (OPTIN_INSTANCE); Lease is how long it reserves what it
	// claims (OPTIN_SEND_LEASE).
	Instance string
	Lease    time.Duration
	// baseURLDefaulted is set when OPTIN_BASE_URL was not given, so that
	// serve can follow the real listener (port 0 picks one).
	baseURLDefaulted bool
}

type setting struct {
	env, flag, def, usage string
}

var settings = []setting{
	{"OPTIN_ADDR", "addr", "127.0.0.1:8080", "listen address"},
	{"OPTIN_DB", "db", "optin.db", "SQLite database file"},
	{"OPTIN_BASE_URL", "base-url", "", "public URL, for links and QR codes (default http:// + addr)"},
	{"OPTIN_BUSINESS_NAME", "business-name", "Example Business", "shown on every page and prompt"},
	{"OPTIN_BUSINESS_NUMBER", "business-number", "", "the business's WhatsApp number, E.164 (default: the sandbox's own)"},
	{"OPTIN_DEFAULT_REGION", "default-region", "US", "region for numbers typed without +"},
	{"OPTIN_PROVIDER", "provider", "sandbox", "sandbox, 360dialog, cloud or v1"},
	{"OPTIN_PROVIDER_URL", "provider-url", "", "provider base URL (default per provider)"},
	{"OPTIN_PROVIDER_TOKEN", "provider-token", "", "API key or access token"},
	{"OPTIN_PHONE_NUMBER_ID", "phone-number-id", "", "Meta phone number id (cloud)"},
	{"OPTIN_WEBHOOK_SECRET", "webhook-secret", "", "value of X-Optin-Secret on webhook calls"},
	{"OPTIN_APP_SECRET", "app-secret", "", "Meta app secret for X-Hub-Signature-256 (cloud)"},
	{"OPTIN_VERIFY_TOKEN", "verify-token", "", "Meta webhook handshake token (cloud)"},
	{"OPTIN_OPTIN_MODE", "optin-mode", "single", "single or double"},
	{"OPTIN_WELCOME_TEMPLATE", "welcome-template", "optin_welcome", "welcome template name"},
	{"OPTIN_WELCOME_LANGUAGE", "welcome-language", "en", "welcome template language"},
	{"OPTIN_WELCOME_LANGUAGES", "welcome-languages", "", "languages the welcome template is approved in, comma-separated (en,de,es,pt_BR): a person gets theirs when listed, else the default language (default: only the default)"},
	{"OPTIN_TEMPLATE_NAMESPACE", "template-namespace", "", "template namespace (v1 only)"},
	{"OPTIN_SEND_RATE", "send-rate", "20", "messages per second to the provider"},
	{"OPTIN_TERMS_TTL", "terms-ttl", "24h", "how long an unanswered terms prompt lives"},
	{"OPTIN_FORWARD_URL", "forward-url", "", "the business's own webhook"},
	{"OPTIN_FORWARD_SECRET", "forward-secret", "", "HMAC key for forwarded calls"},
	{"OPTIN_FRAME_ORIGINS", "frame-origins", "", "origins allowed to embed the form, comma-separated"},
	{"OPTIN_TRUSTED_PROXIES", "trusted-proxies", "", "CIDRs of reverse proxies whose Forwarded/X-Forwarded-For/X-Forwarded-Proto are believed, comma-separated"},
	{"OPTIN_FORM_LIMIT", "form-limit", "10", "form submissions per IP and per number per hour; 0 turns the limit off"},
	{"OPTIN_MESSAGE_RETENTION", "message-retention", "720h", "how long the text of messages is kept; ids and statuses stay"},
	{"OPTIN_METRICS_TOKEN", "metrics-token", "", "bearer token /metrics wants; empty leaves /metrics open (it holds no personal data)"},
	{"OPTIN_HELP_CONTACT", "help-contact", "", "the human escalation path HELP answers with: phone, e-mail or web page (default: the form's URL)"},
	{"OPTIN_DAILY_CAP", "daily-cap", "0", "most business-initiated messages (templates) sent per UTC day, for a new number's warm-up; 0 is no cap"},
	{"OPTIN_REGRET_ALERT", "regret-alert", "10", "regret rate (percent of an entry point's opt-ins who opt out within 24 h) above which an alert is raised"},
	{"OPTIN_CONTACT_CARD", "contact-card", "on", "send the business's contact card once per contact, after the terms are accepted or on HELP: on or off"},
	{"OPTIN_READ_RECEIPTS", "read-receipts", "on", "mark the messages the consent flows answer as read: on or off"},
	{"OPTIN_JURISDICTION", "jurisdiction", "", "the jurisdiction named in consent receipts, such as EU or DE"},
	{"OPTIN_CONTROLLER_CONTACT", "controller-contact", "", "the controller's contact person or office, for consent receipts"},
	{"OPTIN_CONTROLLER_ADDRESS", "controller-address", "", "the controller's postal address, for consent receipts"},
	{"OPTIN_CONTROLLER_COUNTRY", "controller-country", "", "the controller's country (ISO code such as DE), for consent receipts"},
	{"OPTIN_CONTROLLER_EMAIL", "controller-email", "", "the controller's e-mail address, for consent receipts"},
	{"OPTIN_INSTANCE", "instance", "", "this instance's name among those sharing one database; unique per running instance, best stable across restarts (default: hostname-pid)"},
	{"OPTIN_SEND_LEASE", "send-lease", "2m", "how long an instance reserves an outgoing message, a webhook call or a job it took; another instance takes over after it when the instance died"},
	{"OPTIN_SANDBOX_ACCESS", "sandbox-access", "public", "who may open /sandbox (sandbox provider only): public, or admin (signed-in admins only; it lists every chat)"},
}

// loadConfig reads the environment, then the flags in args, and checks the
// result, reporting every problem at once.
func loadConfig(args []string, getenv func(string) string, fs *flag.FlagSet) (config, error) {
	values := map[string]*string{}
	for _, s := range settings {
		v := s.def
		if e := getenv(s.env); e != "" {
			v = e
		}
		values[s.flag] = fs.String(s.flag, v, s.usage+" ($"+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	get := func(name string) string { return strings.TrimSpace(*values[name]) }

	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	c := config{
		Addr:              get("addr"),
		DB:                get("db"),
		BaseURL:           strings.TrimRight(get("base-url"), "/"),
		BusinessName:      get("business-name"),
		BusinessNumber:    get("business-number"),
		DefaultRegion:     strings.ToUpper(get("default-region")),
		Provider:          get("provider"),
		ProviderURL:       strings.TrimRight(get("provider-url"), "/"),
		ProviderToken:     get("provider-token"),
		PhoneNumberID:     get("phone-number-id"),
		WebhookSecret:     get("webhook-secret"),
		AppSecret:         get("app-secret"),
		VerifyToken:       get("verify-token"),
		OptInMode:         get("optin-mode"),
		WelcomeTemplate:   get("welcome-template"),
		WelcomeLanguage:   get("welcome-language"),
		TemplateNamespace: get("template-namespace"),
		ForwardURL:        get("forward-url"),
		ForwardSecret:     get("forward-secret"),
		HelpContact:       get("help-contact"),
		MetricsToken:      get("metrics-token"),
		Jurisdiction:      get("jurisdiction"),
		ControllerContact: get("controller-contact"),
		ControllerAddress: get("controller-address"),
		ControllerCountry: strings.ToUpper(get("controller-country")),
		ControllerEmail:   get("controller-email"),
		SandboxAccess:     get("sandbox-access"),
		Instance:          get("instance"),
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("OPTIN_ADDR %q is not host:port", c.Addr)
	}
	if c.DB == "" {
		bad("OPTIN_DB is empty")
	}
	if c.BaseURL == "" {
		host := c.Addr
		if h, p, err := net.SplitHostPort(c.Addr); err == nil && (h == "" || h == "0.0.0.0" || h == "::") {
			host = net.JoinHostPort("localhost", p)
		}
		c.BaseURL = "http://" + host
		c.baseURLDefaulted = true
	} else if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("OPTIN_BASE_URL %q is not an http(s) URL", c.BaseURL)
	}
	if c.BusinessName == "" {
		bad("OPTIN_BUSINESS_NAME is empty")
	} else if !consent.ValidBusinessName(c.BusinessName) {
		bad("OPTIN_BUSINESS_NAME has more than %d characters, a line break, a tab or more than 4 spaces in a row: it is a WhatsApp template parameter", consent.MaxBusinessNameRunes)
	}
	if !consent.KnownRegion(c.DefaultRegion) {
		bad("OPTIN_DEFAULT_REGION %q is not a region code such as US or DE", c.DefaultRegion)
	}
	if c.BusinessNumber == "" && c.Provider == "sandbox" {
		c.BusinessNumber = sandbox.DefaultNumber
	} else if c.BusinessNumber == "" {
		bad("OPTIN_BUSINESS_NUMBER is required with provider %s", c.Provider)
	} else if n, err := consent.ParsePhone(c.BusinessNumber, c.DefaultRegion); err != nil {
		bad("OPTIN_BUSINESS_NUMBER %q is not a valid phone number", c.BusinessNumber)
	} else {
		c.BusinessNumber = n
	}
	if d, err := time.ParseDuration(get("send-lease")); err != nil || d < time.Second {
		bad("OPTIN_SEND_LEASE %q is not a duration of at least 1s, such as 2m", get("send-lease"))
	} else {
		c.Lease = d
	}
	if c.SandboxAccess != "public" && c.SandboxAccess != "admin" {
		bad("OPTIN_SANDBOX_ACCESS %q is not public or admin", c.SandboxAccess)
	}
	switch c.Provider {
	case "sandbox":
	case "360dialog", "cloud", "v1":
		if c.ProviderToken == "" {
			bad("OPTIN_PROVIDER_TOKEN is required with provider %s", c.Provider)
		}
	default:
		bad("OPTIN_PROVIDER %q is not one of sandbox, 360dialog, cloud, v1", c.Provider)
	}
	if c.Provider == "cloud" {
		if c.PhoneNumberID == "" {
			bad("OPTIN_PHONE_NUMBER_ID is required with provider cloud")
		}
		if c.AppSecret == "" && c.WebhookSecret == "" {
			bad("OPTIN_APP_SECRET (or OPTIN_WEBHOOK_SECRET) is required with provider cloud, to verify webhooks")
		}
	}
	if (c.Provider == "360dialog" || c.Provider == "v1") && c.WebhookSecret == "" {
		bad("OPTIN_WEBHOOK_SECRET is required with provider %s", c.Provider)
	}
	if c.Provider == "v1" {
		if c.ProviderURL == "" {
			bad("OPTIN_PROVIDER_URL is required with provider v1")
		}
		if c.TemplateNamespace == "" {
			bad("OPTIN_TEMPLATE_NAMESPACE is required with provider v1")
		}
	}
	if c.ProviderURL != "" {
		if u, err := url.Parse(c.ProviderURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("OPTIN_PROVIDER_URL %q is not an http(s) URL", c.ProviderURL)
		}
	}
	if c.OptInMode != "single" && c.OptInMode != "double" {
		bad("OPTIN_OPTIN_MODE %q is not single or double", c.OptInMode)
	}
	if c.WelcomeTemplate == "" {
		bad("OPTIN_WELCOME_TEMPLATE is empty")
	}
	if c.WelcomeLanguage == "" {
		bad("OPTIN_WELCOME_LANGUAGE is empty")
	} else if _, ok := consent.ParseWelcomeLanguages(c.WelcomeLanguage); !ok || strings.Contains(c.WelcomeLanguage, ",") {
		bad("OPTIN_WELCOME_LANGUAGE %q is not one template language code such as en or pt_BR", c.WelcomeLanguage)
	}
	if langs, ok := consent.ParseWelcomeLanguages(get("welcome-languages")); !ok {
		bad("OPTIN_WELCOME_LANGUAGES %q is not a comma-separated list of template language codes such as en,de,pt_BR", get("welcome-languages"))
	} else {
		c.WelcomeLanguages = langs
	}
	if r, err := strconv.ParseFloat(get("send-rate"), 64); err != nil || r <= 0 || r > 1000 {
		bad("OPTIN_SEND_RATE %q is not a number of messages per second between 0 and 1000", get("send-rate"))
	} else {
		c.SendRate = r
	}
	if d, err := time.ParseDuration(get("message-retention")); err != nil || d < time.Hour {
		bad("OPTIN_MESSAGE_RETENTION %q is not a duration of at least 1h, such as 720h", get("message-retention"))
	} else {
		c.MessageRetention = d
	}
	if d, err := time.ParseDuration(get("terms-ttl")); err != nil || d <= 0 {
		bad("OPTIN_TERMS_TTL %q is not a positive duration such as 24h", get("terms-ttl"))
	} else {
		c.TermsTTL = d
	}
	if c.ForwardURL != "" {
		if u, err := url.Parse(c.ForwardURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("OPTIN_FORWARD_URL %q is not an http(s) URL", c.ForwardURL)
		}
		if c.ForwardSecret == "" {
			bad("OPTIN_FORWARD_SECRET is required with OPTIN_FORWARD_URL")
		}
	} else if c.ForwardSecret != "" {
		bad("OPTIN_FORWARD_SECRET is set but OPTIN_FORWARD_URL is not")
	}
	for _, o := range strings.Split(get("frame-origins"), ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			bad("OPTIN_FRAME_ORIGINS entry %q is not an origin such as https://shop.example", o)
			continue
		}
		c.FrameOrigins = append(c.FrameOrigins, u.Scheme+"://"+u.Host)
	}
	if p, err := web.ParseTrustedProxies(get("trusted-proxies")); err != nil {
		bad("OPTIN_TRUSTED_PROXIES %q is not a comma-separated list of CIDRs such as 10.0.0.0/8,::1/128", get("trusted-proxies"))
	} else {
		c.TrustedProxies = p
	}
	if n, err := strconv.Atoi(get("form-limit")); err != nil || n < 0 {
		bad("OPTIN_FORM_LIMIT %q is not a whole number ≥ 0", get("form-limit"))
	} else {
		c.FormLimit = n
	}
	if n, err := strconv.Atoi(get("daily-cap")); err != nil || n < 0 || n > consent.MaxDailyCap {
		bad("OPTIN_DAILY_CAP %q is not a whole number ≥ 0", get("daily-cap"))
	} else {
		c.DailyCap = n
	}
	for _, sw := range []struct {
		flag, env string
		dst       *bool
	}{{"contact-card", "OPTIN_CONTACT_CARD", &c.ContactCard}, {"read-receipts", "OPTIN_READ_RECEIPTS", &c.ReadReceipts}} {
		switch strings.ToLower(get(sw.flag)) {
		case "on", "true", "1", "yes":
			*sw.dst = true
		case "off", "false", "0", "no":
		default:
			bad("%s %q is not on or off", sw.env, get(sw.flag))
		}
	}
	if r, err := strconv.ParseFloat(get("regret-alert"), 64); err != nil || r <= 0 || r > 100 {
		bad("OPTIN_REGRET_ALERT %q is not a percentage above 0 and at most 100", get("regret-alert"))
	} else {
		c.RegretAlert = r
	}
	if c.ControllerCountry != "" && (len(c.ControllerCountry) != 2 || !consent.KnownRegion(c.ControllerCountry)) {
		bad("OPTIN_CONTROLLER_COUNTRY %q is not a country code such as DE", c.ControllerCountry)
	}
	if c.ControllerEmail != "" {
		if a, err := mail.ParseAddress(c.ControllerEmail); err != nil || a.Address != c.ControllerEmail {
			bad("OPTIN_CONTROLLER_EMAIL %q is not an e-mail address", c.ControllerEmail)
		}
	}
	if len(problems) > 0 {
		return c, errors.New("invalid configuration:\n  - " + strings.Join(problems, "\n  - "))
	}
	return c, nil
}
