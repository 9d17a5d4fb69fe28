package web

import (
	"fmt"
	"sort"
	"sync"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/views"
)

// countryLists builds, once per language, the country chooser's options
// with names in that language, sorted as its speakers expect.
type countryLists struct {
	mu    sync.Mutex
	lists map[string][]views.CountryOption
}

func newCountryLists() *countryLists {
	return &countryLists{lists: map[string][]views.CountryOption{}}
}

// options returns the choices for lang with selected marked.
func (c *countryLists) options(lang, selected string) []views.CountryOption {
	c.mu.Lock()
	list, ok := c.lists[lang]
	if !ok {
		list = buildCountries(lang)
		c.lists[lang] = list
	}
	c.mu.Unlock()
	out := make([]views.CountryOption, len(list))
	copy(out, list)
	for i := range out {
		out[i].Selected = out[i].Code == selected
	}
	return out
}

func buildCountries(lang string) []views.CountryOption {
	tag := language.Make(lang)
	names := display.Regions(tag)
	var out []views.CountryOption
	for _, r := range consent.Regions() {
		region, err := language.ParseRegion(r.Code)
		if err != nil {
			continue
		}
		name := names.Name(region)
		if name == "" {
			name = r.Code
		}
		out = append(out, views.CountryOption{Code: r.Code, Name: name, Dial: fmt.Sprintf("+%d", r.Dial)})
	}
	col := collate.New(tag)
	sort.SliceStable(out, func(i, j int) bool { return col.CompareString(out[i].Name, out[j].Name) < 0 })
	return out
}
