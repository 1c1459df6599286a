package money

// minorUnits holds every currency uberservice accepts, by ISO 4217 code, with
// its number of minor-unit digits as ISO 4217 gives them: the currencies of
// ISO 4217 List One that are legal tender somewhere (current to the
// amendments of 2025, with BGN gone since Bulgaria's changeover to the euro
// on 1 January 2026).
//
// List One also assigns codes that are not money anyone pays with, and they
// are left out: XXX (no currency) and XTS (testing); the precious metals
// (XAU, XAG, XPD, XPT), bond market units (XBA to XBD) and other units of
// account (XDR, XSU, XUA), which have no minor unit to count in; and the fund
// codes (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW), which price
// instruments, not accounts or products. Withdrawn codes (List Three: DEM,
// HRK, VEF, ANG...) are left out too.
//
// It is a table of our own rather than golang.org/x/text/currency's, which
// is built from CLDR 32 (2017): that one accepts withdrawn codes (DEM, HRK)
// and lower case, refuses codes assigned since (VES, SLE, MRU, XCG, ZWG), and
// its decimals are CLDR's rounding, not ISO's minor units (0 for IQD, whose
// minor unit is the fils, a thousandth): amounts here are counts of minor
// units, so the ISO figure is the one that says what an amount means.
//
// When ISO amends the list, change this table: add a new code, and drop a
// withdrawn one once no new account or product should use it (amounts
// already stored in it still format, with Decimals' default of 2 digits).
var minorUnits = map[string]int{
	"AED": 2, // UAE dirham
	"AFN": 2, // Afghani
	"ALL": 2, // Lek
	"AMD": 2, // Armenian dram
	"AOA": 2, // Kwanza
	"ARS": 2, // Argentine peso
	"AUD": 2, // Australian dollar
	"AWG": 2, // Aruban florin
	"AZN": 2, // Azerbaijan manat
	"BAM": 2, // Convertible mark
	"BBD": 2, // Barbados dollar
	"BDT": 2, // Taka
	"BHD": 3, // Bahraini dinar
	"BIF": 0, // Burundi franc
	"BMD": 2, // Bermudian dollar
	"BND": 2, // Brunei dollar
	"BOB": 2, // Boliviano
	"BRL": 2, // Brazilian real
	"BSD": 2, // Bahamian dollar
	"BTN": 2, // Ngultrum
	"BWP": 2, // Pula
	"BYN": 2, // Belarusian ruble
	"BZD": 2, // Belize dollar
	"CAD": 2, // Canadian dollar
	"CDF": 2, // Congolese franc
	"CHF": 2, // Swiss franc
	"CLP": 0, // Chilean peso
	"CNY": 2, // Yuan renminbi
	"COP": 2, // Colombian peso
	"CRC": 2, // Costa Rican colon
	"CUC": 2, // Peso convertible
	"CUP": 2, // Cuban peso
	"CVE": 2, // Cabo Verde escudo
	"CZK": 2, // Czech koruna
	"DJF": 0, // Djibouti franc
	"DKK": 2, // Danish krone
	"DOP": 2, // Dominican peso
	"DZD": 2, // Algerian dinar
	"EGP": 2, // Egyptian pound
	"ERN": 2, // Nakfa
	"ETB": 2, // Ethiopian birr
	"EUR": 2, // Euro
	"FJD": 2, // Fiji dollar
	"FKP": 2, // Falkland Islands pound
	"GBP": 2, // Pound sterling
	"GEL": 2, // Lari
	"GHS": 2, // Ghana cedi
	"GIP": 2, // Gibraltar pound
	"GMD": 2, // Dalasi
	"GNF": 0, // Guinean franc
	"GTQ": 2, // Quetzal
	"GYD": 2, // Guyana dollar
	"HKD": 2, // Hong Kong dollar
	"HNL": 2, // Lempira
	"HTG": 2, // Gourde
	"HUF": 2, // Forint
	"IDR": 2, // Rupiah
	"ILS": 2, // New Israeli sheqel
	"INR": 2, // Indian rupee
	"IQD": 3, // Iraqi dinar
	"IRR": 2, // Iranian rial
	"ISK": 0, // Iceland krona
	"JMD": 2, // Jamaican dollar
	"JOD": 3, // Jordanian dinar
	"JPY": 0, // Yen
	"KES": 2, // Kenyan shilling
	"KGS": 2, // Som
	"KHR": 2, // Riel
	"KMF": 0, // Comorian franc
	"KPW": 2, // North Korean won
	"KRW": 0, // Won
	"KWD": 3, // Kuwaiti dinar
	"KYD": 2, // Cayman Islands dollar
	"KZT": 2, // Tenge
	"LAK": 2, // Lao kip
	"LBP": 2, // Lebanese pound
	"LKR": 2, // Sri Lanka rupee
	"LRD": 2, // Liberian dollar
	"LSL": 2, // Loti
	"LYD": 3, // Libyan dinar
	"MAD": 2, // Moroccan dirham
	"MDL": 2, // Moldovan leu
	"MGA": 2, // Malagasy ariary
	"MKD": 2, // Denar
	"MMK": 2, // Kyat
	"MNT": 2, // Tugrik
	"MOP": 2, // Pataca
	"MRU": 2, // Ouguiya
	"MUR": 2, // Mauritius rupee
	"MVR": 2, // Rufiyaa
	"MWK": 2, // Malawi kwacha
	"MXN": 2, // Mexican peso
	"MYR": 2, // Malaysian ringgit
	"MZN": 2, // Mozambique metical
	"NAD": 2, // Namibia dollar
	"NGN": 2, // Naira
	"NIO": 2, // Cordoba oro
	"NOK": 2, // Norwegian krone
	"NPR": 2, // Nepalese rupee
	"NZD": 2, // New Zealand dollar
	"OMR": 3, // Rial Omani
	"PAB": 2, // Balboa
	"PEN": 2, // Sol
	"PGK": 2, // Kina
	"PHP": 2, // Philippine peso
	"PKR": 2, // Pakistan rupee
	"PLN": 2, // Zloty
	"PYG": 0, // Guarani
	"QAR": 2, // Qatari rial
	"RON": 2, // Romanian leu
	"RSD": 2, // Serbian dinar
	"RUB": 2, // Russian ruble
	"RWF": 0, // Rwanda franc
	"SAR": 2, // Saudi riyal
	"SBD": 2, // Solomon Islands dollar
	"SCR": 2, // Seychelles rupee
	"SDG": 2, // Sudanese pound
	"SEK": 2, // Swedish krona
	"SGD": 2, // Singapore dollar
	"SHP": 2, // Saint Helena pound
	"SLE": 2, // Leone
	"SOS": 2, // Somali shilling
	"SRD": 2, // Surinam dollar
	"SSP": 2, // South Sudanese pound
	"STN": 2, // Dobra
	"SVC": 2, // El Salvador colon
	"SYP": 2, // Syrian pound
	"SZL": 2, // Lilangeni
	"THB": 2, // Baht
	"TJS": 2, // Somoni
	"TMT": 2, // Turkmenistan new manat
	"TND": 3, // Tunisian dinar
	"TOP": 2, // Pa'anga
	"TRY": 2, // Turkish lira
	"TTD": 2, // Trinidad and Tobago dollar
	"TWD": 2, // New Taiwan dollar
	"TZS": 2, // Tanzanian shilling
	"UAH": 2, // Hryvnia
	"UGX": 0, // Uganda shilling
	"USD": 2, // US dollar
	"UYU": 2, // Peso uruguayo
	"UZS": 2, // Uzbekistan sum
	"VED": 2, // Bolivar soberano (digital)
	"VES": 2, // Bolivar soberano
	"VND": 0, // Dong
	"VUV": 0, // Vatu
	"WST": 2, // Tala
	"XAF": 0, // CFA franc BEAC
	"XCD": 2, // East Caribbean dollar
	"XCG": 2, // Caribbean guilder
	"XOF": 0, // CFA franc BCEAO
	"XPF": 0, // CFP franc
	"YER": 2, // Yemeni rial
	"ZAR": 2, // Rand
	"ZMW": 2, // Zambian kwacha
	"ZWG": 2, // Zimbabwe gold
}
