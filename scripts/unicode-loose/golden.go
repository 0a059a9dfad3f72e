// Command golden prints loose collation keys computed by golang.org/x/text itself: the oracle
// for reshard's port (crates/kernels/src/unicode_loose). It runs against Debian's x/text 0.7.0:
//
//	apt-get install golang-go golang-golang-x-text-dev
//	GO111MODULE=off GOPATH=/usr/share/gocode go run scripts/unicode-loose/golden.go codepoints
//	GO111MODULE=off GOPATH=/usr/share/gocode go run scripts/unicode-loose/golden.go strings < inputs
//
// `codepoints` prints, for each block of 1024 code points, the first 8 bytes of the MD5 of the
// keys of its code points, each key as one length byte and its bytes (surrogates left out).
// Code points whose implicit weight depends on the Go release are left out too, and listed
// on `skip` lines: Go 1.19's unicode.Ideographic is Unicode 13.0, Vitess's Go has Unicode 15.0.
//
// `strings` reads one hex-encoded UTF-8 string per line and prints it with its key in hex.
//
// Keys are made as Vitess makes them: trailing spaces trimmed, then
// collate.New(language.English, collate.Loose).Key.
package main

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"unicode"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
)

// Unicode 15.0's Ideographic property, as Go 1.21 and later have it.
var ideographic15 = [][2]rune{
	{0x3006, 0x3007}, {0x3021, 0x3029}, {0x3038, 0x303A}, {0x3400, 0x4DBF}, {0x4E00, 0x9FFF},
	{0xF900, 0xFA6D}, {0xFA70, 0xFAD9}, {0x16FE4, 0x16FE4}, {0x17000, 0x187F7}, {0x18800, 0x18CD5},
	{0x18D00, 0x18D08}, {0x1B170, 0x1B2FB}, {0x20000, 0x2A6DF}, {0x2A700, 0x2B739}, {0x2B740, 0x2B81D},
	{0x2B820, 0x2CEA1}, {0x2CEB0, 0x2EBE0}, {0x2F800, 0x2FA1D}, {0x30000, 0x3134A}, {0x31350, 0x323AF},
}

func key(col *collate.Collator, buf *collate.Buffer, s []byte) []byte {
	buf.Reset()
	return col.Key(buf, bytes.TrimRight(s, " "))
}

// isNewIdeograph says whether this Go's Ideographic property differs from Unicode 15.0's at r.
func isNewIdeograph(r rune) bool {
	in15 := false
	for _, rg := range ideographic15 {
		if r >= rg[0] && r <= rg[1] {
			in15 = true
		}
	}
	return in15 != unicode.Is(unicode.Ideographic, r)
}

func main() {
	col := collate.New(language.English, collate.Loose)
	buf := new(collate.Buffer)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: golden codepoints | golden strings < hex-lines")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "codepoints":
		for r := rune(0); r < 0x110000; r++ {
			if isNewIdeograph(r) {
				end := r
				for isNewIdeograph(end + 1) {
					end++
				}
				fmt.Fprintf(out, "skip %x %x\n", r, end)
				r = end
			}
		}
		for start := rune(0); start < 0x110000; start += 1024 {
			h := md5.New()
			for r := start; r < start+1024; r++ {
				if (r >= 0xD800 && r <= 0xDFFF) || isNewIdeograph(r) {
					continue
				}
				k := key(col, buf, []byte(string(r)))
				h.Write([]byte{byte(len(k))})
				h.Write(k)
			}
			fmt.Fprintf(out, "%x %x\n", start, h.Sum(nil)[:8])
		}
	case "strings":
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			s, err := hex.DecodeString(in.Text())
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			fmt.Fprintf(out, "%x\t%x\n", s, key(col, buf, s))
		}
	default:
		fmt.Fprintln(os.Stderr, "usage: golden codepoints | golden strings < hex-lines")
		os.Exit(2)
	}
}
