// Package money formats amounts kept as integer minor units for people to read.
// Amounts are never floats anywhere in uberservice; this is only presentation.
package money

import "fmt"

// Decimals is the number of minor-unit digits of an ISO 4217 currency: 2 unless
// the currency is listed as having 0 or 3.
func Decimals(currency string) int {
	switch currency {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3
	}
	return 2
}

// Format writes minor units in major units with the currency's decimals:
// Format(123456, "USD") is "1234.56 USD", Format(500, "JPY") is "500 JPY".
func Format(minor int64, currency string) string {
	d := Decimals(currency)
	if d == 0 {
		return fmt.Sprintf("%d %s", minor, currency)
	}
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	unit := int64(1)
	for range d {
		unit *= 10
	}
	return fmt.Sprintf("%s%d.%0*d %s", sign, minor/unit, d, minor%unit, currency)
}
