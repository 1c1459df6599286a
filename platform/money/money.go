// Package money is what every module agrees on about money: an amount is an
// integer count of minor units and its currency an ISO 4217 code, USD unless
// said otherwise. It tells a currency code from anything else, and formats
// amounts for people to read. Amounts are never floats anywhere in
// uberservice; Format is only presentation.
package money

import (
	"fmt"
	"regexp"
)

// DefaultCurrency is the currency of whatever is priced or opened without one:
// an account, a product.
const DefaultCurrency = "USD"

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// IsCurrency reports whether code has the form of an ISO 4217 currency code:
// three upper-case letters. Whether the code is assigned is not asked.
func IsCurrency(code string) bool { return currencyCode.MatchString(code) }

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
