package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
	"github.com/optin/optin/web/i18n"
)

// admin manages admin console users: optin admin add EMAIL [--role admin|viewer].
// The password is the first line of standard input; an empty line (or no
// input) generates one, printed once.
func admin(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "add" {
		return errors.New("usage: optin admin add EMAIL [--role admin|viewer] [--db FILE] (password on stdin; empty generates one)")
	}
	email := args[1]
	fs := flag.NewFlagSet("optin admin add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	role := fs.String("role", "admin", "admin (reads and changes) or viewer (reads, numbers masked)")
	dbPath := fs.String("db", envOr(getenv, "OPTIN_DB", "optin.db"), "SQLite database file or postgres:// URL ($OPTIN_DB)")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	if f, ok := stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(stderr, "Password (at least 12 characters; press Enter to generate one): ")
		}
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return err
	}
	password := strings.TrimRight(line, "\r\n")

	db, err := store.Open(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := consent.NewService(db, consent.SystemClock{}, i18n.T, consent.Config{})
	u, password, err := svc.AddAdmin(ctx, email, password, consent.Role(*role))
	var verr *consent.ValidationError
	switch {
	case errors.As(err, &verr):
		var problems []string
		for field, key := range verr.Fields {
			switch key {
			case "admin.email":
				problems = append(problems, "the e-mail address is not valid")
			case "admin.role":
				problems = append(problems, "the role must be admin or viewer")
			case "admin.password_length":
				problems = append(problems, fmt.Sprintf("the password must have at least %d characters", consent.MinPasswordLength))
			default:
				problems = append(problems, field+" is not valid")
			}
		}
		return errors.New(strings.Join(problems, "; "))
	case errors.Is(err, consent.ErrConflict):
		return fmt.Errorf("an admin user with that e-mail already exists")
	case err != nil:
		return err
	}
	if line == "" || strings.TrimSpace(line) == "" {
		fmt.Fprintf(stdout, "%s\n", password)
		fmt.Fprintf(stderr, "User %s (%s) created with the password above. It is shown only this once.\n", u.Email, u.Role)
		return nil
	}
	fmt.Fprintf(stderr, "User %s (%s) created. Sign in at /admin/login.\n", u.Email, u.Role)
	return nil
}
