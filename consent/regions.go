package consent

import (
	"sort"

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
