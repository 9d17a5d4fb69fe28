package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"text/tabwriter"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
	"github.com/optin/optin/web/i18n"
	"github.com/optin/optin/web/sandbox"
)

const entryUsage = `usage:
  optin entry add CODE --name NAME --categories SLUG,SLUG [--db FILE] [--base-url URL] [--business-number E164]
  optin entry list [--db FILE] [--base-url URL] [--business-number E164]`

// entry manages entry points: optin entry add CODE --name NAME
// --categories offers,order_updates, and optin entry list.
func entry(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "list") {
		return errors.New(entryUsage)
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("optin entry "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var name, cats *string
	if sub == "add" {
		name = fs.String("name", "", "what the entry point is, for admins (a poster, a campaign)")
		cats = fs.String("categories", "", "comma-separated category slugs offered to people who write in through it")
	}
	dbPath := fs.String("db", envOr(getenv, "OPTIN_DB", "optin.db"), "SQLite database file or postgres:// URL ($OPTIN_DB)")
	baseURL := fs.String("base-url", envOr(getenv, "OPTIN_BASE_URL", defaultBaseURL(envOr(getenv, "OPTIN_ADDR", "127.0.0.1:8080"))),
		"public URL, for the short link ($OPTIN_BASE_URL)")
	number := fs.String("business-number", envOr(getenv, "OPTIN_BUSINESS_NUMBER", sandbox.DefaultNumber),
		"the business's WhatsApp number, E.164 ($OPTIN_BUSINESS_NUMBER)")

	// The code may come before or after the flags.
	var code string
	if sub == "add" && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		code, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if sub == "add" && code == "" && fs.NArg() > 0 {
		code = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
	}
	if fs.NArg() > 0 || (sub == "add" && code == "") {
		return errors.New(entryUsage)
	}
	bn, err := consent.ParsePhone(*number, envOr(getenv, "OPTIN_DEFAULT_REGION", "US"))
	if err != nil {
		return fmt.Errorf("the business number %q is not a valid phone number", *number)
	}
	base := strings.TrimRight(*baseURL, "/")

	db, err := store.Open(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	// The same key as serve's, so that links made here are accepted there.
	key, err := db.Secret(ctx, "entry_key", 32)
	if err != nil {
		return err
	}
	svc := consent.NewService(db, consent.SystemClock{}, i18n.T, consent.Config{BusinessNumber: bn, EntryKey: key})

	if sub == "list" {
		return entryList(ctx, svc, base, stdout)
	}
	e, err := svc.CreateEntryPoint(ctx, code, *name, strings.Split(*cats, ","))
	if err != nil {
		return entryError(ctx, svc, code, err)
	}
	fmt.Fprintf(stdout, "Entry point %s (%s) created, offering %s.\n", e.Code, e.Name, strings.Join(e.Categories, ", "))
	fmt.Fprintf(stdout, "  WhatsApp link: %s\n", svc.WaMeLink(e.Code))
	fmt.Fprintf(stdout, "  Short link:    %s/l/%s (counts scans: use it in print and email)\n", base, e.Code)
	fmt.Fprintf(stdout, "  QR codes:      %s/qr/%s.png  %s/qr/%s.svg\n", base, e.Code, base, e.Code)
	fmt.Fprintf(stdout, "  Start text:    %s\n", svc.StartText(e.Code))
	return nil
}

// entryList prints every entry point with its funnel.
func entryList(ctx context.Context, svc *consent.Service, base string, stdout io.Writer) error {
	all, err := svc.EntryPoints(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CODE\tNAME\tCATEGORIES\tSCANS\tCONVERSATIONS\tACCEPTED\tSHORT LINK")
	for _, e := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s/l/%s\n", e.Code, e.Name, strings.Join(e.Categories, ","),
			e.Scans, e.Conversations, e.Accepted, base, e.Code)
	}
	return tw.Flush()
}

// entryError turns the service's errors into sentences for the command line.
func entryError(ctx context.Context, svc *consent.Service, code string, err error) error {
	var verr *consent.ValidationError
	switch {
	case errors.Is(err, consent.ErrConflict):
		return fmt.Errorf("entry point %s already exists", strings.ToUpper(code))
	case errors.As(err, &verr):
		var msgs []string
		if _, ok := verr.Fields["code"]; ok {
			msgs = append(msgs, "the code must be 3–10 characters of A–Z and 2–9")
		}
		if _, ok := verr.Fields["name"]; ok {
			msgs = append(msgs, "--name must be 1–100 characters")
		}
		if _, ok := verr.Fields["categories"]; ok {
			var slugs []string
			if cats, err := svc.Categories(ctx, "en"); err == nil {
				for _, c := range cats {
					slugs = append(slugs, c.Slug)
				}
			}
			msgs = append(msgs, "--categories must list one or more of "+strings.Join(slugs, ", "))
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	return err
}

// defaultBaseURL is the base URL serve assumes when OPTIN_BASE_URL is unset.
func defaultBaseURL(addr string) string {
	if h, p, err := net.SplitHostPort(addr); err == nil && (h == "" || h == "0.0.0.0" || h == "::") {
		addr = net.JoinHostPort("localhost", p)
	}
	return "http://" + addr
}
