package static

import (
	"io/fs"
	"strings"
	"testing"
)

func TestFS(t *testing.T) {
	for _, name := range []string{"css/app.css", "js/app.js", "img/logo.svg"} {
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Errorf("ReadFile(%q): %v", name, err)
			continue
		}
		if len(b) == 0 {
			t.Errorf("%s is empty", name)
		}
	}
}

// TestNoExternalResources keeps the assets loadable under the pages'
// "default-src 'self'" policy.
func TestNoExternalResources(t *testing.T) {
	err := fs.WalkDir(FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(FS, path)
		if err != nil {
			return err
		}
		s := string(b)
		for _, bad := range []string{"@import", "url(http", "url(//", "url(data:"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s contains %q", path, bad)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
