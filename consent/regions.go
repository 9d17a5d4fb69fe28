package consent

import (
	"sort"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Region is a country or territory a phone number can belong to.
type Region struct {
	Code string // ISO 3166 alpha-2, "DE"
	Dial int    // country calling code, 49
}

// Regions lists every region the phone number library knows, by code.
func Regions() []Region {
	var out []Region
	for code := range phonenumbers.GetSupportedRegions() {
		out = append(out, Region{Code: code, Dial: phonenumbers.GetCountryCodeForRegion(code)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// KnownRegion reports whether code is a region of Regions.
func KnownRegion(code string) bool {
	return phonenumbers.GetCountryCodeForRegion(code) != 0
}

// PhoneRegions lists, by code, the regions in which raw is a valid number
// when typed without its country code ("0151 23456789" is valid in DE).
// It is for explaining a refused number ("not a US number, but a German
// one"): a number written with + or 00 belongs to one country whatever the
// region, so it gets none. It tries every region, about 10 ms.
func PhoneRegions(raw string) []string {
	s, key := normalizePhone(raw)
	if key != "" || strings.HasPrefix(s, "+") {
		return nil
	}
	var out []string
	for _, r := range Regions() {
		if _, err := ParsePhone(raw, r.Code); err == nil {
			out = append(out, r.Code)
		}
	}
	return out
}
