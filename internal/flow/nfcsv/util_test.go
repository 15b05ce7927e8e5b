package nfcsv_test

import "strconv"

func parse16(s string) uint16 { n, _ := strconv.ParseUint(s, 10, 16); return uint16(n) }

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
