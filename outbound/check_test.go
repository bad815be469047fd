package outbound

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// testNames is what the fake DNS server answers in these tests.
func testNames() map[string][]netip.Addr {
	return map[string][]netip.Addr{
		"internal.example": {netip.MustParseAddr("127.0.0.1")},
		"metadata.example": {netip.MustParseAddr("169.254.169.254")},
		"mixed.example":    {netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("10.1.2.3")},
		"mapped.example":   {netip.MustParseAddr("::ffff:192.168.0.1")},
		"public.example":   {netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("2606:2800:21f:cb07:6820:80da:af6b:8b2c")},
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		addr  string
		class string // empty: allowed
	}{
		{"127.0.0.1", ClassLoopback},
		{"127.255.0.9", ClassLoopback},
		{"::1", ClassLoopback},
		{"10.0.0.1", ClassPrivate},
		{"172.16.0.1", ClassPrivate},
		{"172.31.255.255", ClassPrivate},
		{"192.168.1.1", ClassPrivate},
		{"fc00::1", ClassPrivate},
		{"fd12:3456::1", ClassPrivate},
		{"169.254.1.1", ClassLinkLocal},
		{"fe80::1", ClassLinkLocal},
		{"fe80::1%eth0", ClassLinkLocal},
		{"169.254.169.254", ClassMetadata},
		{"fd00:ec2::254", ClassMetadata},
		{"100.100.100.200", ClassMetadata},
		{"100.64.0.1", ClassShared},
		{"100.127.255.254", ClassShared},
		{"224.0.0.1", ClassMulticast},
		{"239.255.255.250", ClassMulticast},
		{"ff02::1", ClassMulticast},
		{"0.0.0.0", ClassUnspecified},
		{"0.1.2.3", ClassUnspecified},
		{"::", ClassUnspecified},
		{"255.255.255.255", ClassBroadcast},
		{"240.0.0.1", ClassReserved},
		{"198.18.0.1", ClassReserved},
		{"::ffff:127.0.0.1", ClassLoopback},
		{"::ffff:169.254.169.254", ClassMetadata},
		{"::ffff:0:10.0.0.1", ClassPrivate},                     // IPv4-translated
		{"::127.0.0.1", ClassLoopback},                          // IPv4-compatible
		{"64:ff9b::127.0.0.1", ClassLoopback},                   // NAT64
		{"64:ff9b::a9fe:a9fe", ClassMetadata},                   // NAT64 of 169.254.169.254
		{"64:ff9b:1::1", ClassPrivate},                          // local-use NAT64
		{"2002:7f00:1::1", ClassLoopback},                       // 6to4 of 127.0.0.1
		{"2002:c0a8:101::1", ClassPrivate},                      // 6to4 of 192.168.1.1
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", ClassLoopback}, // Teredo, client 127.0.0.1
		{"fec0::1", ClassPrivate},
		{"100::1", ClassReserved},
		{"3fff::1", ""},
		{"8.8.8.8", ""},
		{"93.184.215.14", ""},
		{"203.0.113.10", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"172.32.0.1", ""},
		{"2606:4700::1111", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""},
		{"2002:808:808::1", ""},
		{"4000::1", ClassReserved},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			class, refused := Classify(netip.MustParseAddr(tt.addr))
			if refused != (tt.class != "") || class != tt.class {
				t.Errorf("Classify(%s) = %q, %v; want %q", tt.addr, class, refused, tt.class)
			}
		})
	}
}

func TestParseNumericHostReadsWhatInetAtonReads(t *testing.T) {
	tests := []struct {
		host string
		want string // empty: not a numeric host
	}{
		{"2130706433", "127.0.0.1"},
		{"0x7f000001", "127.0.0.1"},
		{"0X7F000001", "127.0.0.1"},
		{"017700000001", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"127.0.1", "127.0.0.1"},
		{"0177.0.0.1", "127.0.0.1"},
		{"0x7f.0.0.1", "127.0.0.1"},
		{"127.000.000.001", "127.0.0.1"},
		{"10.0x10203", "10.1.2.3"},
		{"3232235777", "192.168.1.1"},
		{"0", "0.0.0.0"},
		{"127.0.0.1.", "127.0.0.1"},
		{"4294967296", ""},
		{"256.0.0.1", ""},
		{"1.2.3.4.5", ""},
		{"08.0.0.1", ""},
		{"example.com", ""},
		{"127.0.0.1x", ""},
		{"0x", "0.0.0.0"},
		{"+1", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			got, ok := parseNumericHost(tt.host)
			if tt.want == "" {
				if ok {
					t.Errorf("parseNumericHost(%q) = %s, want not numeric", tt.host, got)
				}
				return
			}
			if !ok || got != netip.MustParseAddr(tt.want) {
				t.Errorf("parseNumericHost(%q) = %s, %v; want %s", tt.host, got, ok, tt.want)
			}
		})
	}
}

func TestCheckURLRefuses(t *testing.T) {
	resolver := fakeResolver(t, testNames())
	tests := []struct {
		name   string
		url    string
		class  string // the refused address class; empty when the URL itself is at fault
		reason string // a part of the message
	}{
		{"other scheme", "ftp://example.com/x", "", `scheme "ftp"`},
		{"javascript", "javascript:alert(1)", "", `scheme "javascript"`},
		{"file", "file:///etc/passwd", "", `scheme "file"`},
		{"relative", "/hooks/in", "", "absolute"},
		{"credentials", "https://user:secret@example.com/hook", "", "user name or password"},
		{"user only", "https://user@example.com/hook", "", "user name or password"},
		{"no host", "https:///hook", "", "no host"},
		{"bad URL", "http://[::1", "", "not a valid URL"},
		{"loopback", "http://127.0.0.1/", ClassLoopback, "127.0.0.1 is a loopback address"},
		{"loopback with port", "http://127.0.0.1:8080/hook", ClassLoopback, "loopback"},
		{"loopback v6", "http://[::1]/", ClassLoopback, "loopback"},
		{"private", "http://10.0.0.1/", ClassPrivate, "private"},
		{"private 172", "https://172.16.5.4/", ClassPrivate, "private"},
		{"private 192", "https://192.168.1.1/", ClassPrivate, "private"},
		{"unique local", "https://[fd00::1]/", ClassPrivate, "private"},
		{"link-local", "http://169.254.10.10/", ClassLinkLocal, "link-local"},
		{"link-local v6 with zone", "http://[fe80::1%25eth0]/", ClassLinkLocal, "link-local"},
		{"metadata", "http://169.254.169.254/latest/meta-data/", ClassMetadata, "cloud metadata"},
		{"metadata v6", "http://[fd00:ec2::254]/", ClassMetadata, "cloud metadata"},
		{"metadata alibaba", "http://100.100.100.200/", ClassMetadata, "cloud metadata"},
		{"cgnat", "http://100.64.1.1/", ClassShared, "carrier-grade NAT"},
		{"multicast", "http://224.0.0.251/", ClassMulticast, "multicast"},
		{"broadcast", "http://255.255.255.255/", ClassBroadcast, "broadcast"},
		{"unspecified", "http://0.0.0.0/", ClassUnspecified, "unspecified"},
		{"unspecified v6", "http://[::]/", ClassUnspecified, "unspecified"},
		{"mapped", "http://[::ffff:127.0.0.1]/", ClassLoopback, "loopback"},
		{"mapped hex", "http://[::ffff:7f00:1]/", ClassLoopback, "loopback"},
		{"nat64", "http://[64:ff9b::7f00:1]/", ClassLoopback, "loopback"},
		{"decimal", "http://2130706433/", ClassLoopback, `host "2130706433" resolves to 127.0.0.1, a loopback address`},
		{"hex", "http://0x7f000001/", ClassLoopback, "loopback"},
		{"octal", "http://017700000001/", ClassLoopback, "loopback"},
		{"short", "http://127.1/", ClassLoopback, "loopback"},
		{"octal dotted", "http://0177.0.0.1/", ClassLoopback, "loopback"},
		{"decimal metadata", "http://2852039166/", ClassMetadata, "cloud metadata"},
		{"trailing dot", "http://127.0.0.1./", ClassLoopback, "loopback"},
		{"odd public form", "http://0x5db8d70e/", "non-canonical numeric", "write it as 93.184.215.14"},
		{"localhost", "http://localhost:8080/", ClassLoopback, `host "localhost" resolves to`},
		{"name to loopback", "https://internal.example/hook", ClassLoopback, `host "internal.example" resolves to 127.0.0.1, a loopback address`},
		{"name to metadata", "https://metadata.example/", ClassMetadata, "cloud metadata"},
		{"name with one private address", "https://mixed.example/", ClassPrivate, "10.1.2.3"},
		{"name to mapped private", "https://mapped.example/", ClassPrivate, "192.168.0.1"},
		{"name that does not exist", "https://missing.example/", "", "does not resolve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckURL(context.Background(), tt.url, false, resolver)
			var ae *AddressError
			if !errors.As(err, &ae) {
				t.Fatalf("CheckURL(%q) = %v, want an *AddressError", tt.url, err)
			}
			if ae.Class != tt.class {
				t.Errorf("class = %q, want %q (%v)", ae.Class, tt.class, err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not say %q", err, tt.reason)
			}
		})
	}
}

func TestCheckURLAccepts(t *testing.T) {
	resolver := fakeResolver(t, testNames())
	for _, u := range []string{
		"https://public.example/hooks/calgate",
		"http://public.example:8080/x?y=1",
		"https://93.184.215.14/hook",
		"https://[2606:4700::1111]:8443/hook",
		"https://PUBLIC.example./hook",
	} {
		t.Run(u, func(t *testing.T) {
			if err := CheckURL(context.Background(), u, false, resolver); err != nil {
				t.Errorf("CheckURL(%q) = %v, want nil", u, err)
			}
		})
	}
}

func TestCheckURLAllowPrivateStillRefusesSchemeAndCredentials(t *testing.T) {
	tests := []struct {
		url     string
		refused bool
	}{
		{"http://127.0.0.1:8080/hook", false},
		{"http://localhost/", false},
		{"http://169.254.169.254/", false},
		{"http://2130706433/", false},
		{"http://unresolvable.invalid/", false},
		{"ftp://127.0.0.1/", true},
		{"http://user:pw@127.0.0.1/", true},
		{"http:///hook", true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := CheckURL(context.Background(), tt.url, true, nil)
			if (err != nil) != tt.refused {
				t.Errorf("CheckURL(%q, allowPrivate) = %v, want refused=%v", tt.url, err, tt.refused)
			}
		})
	}
}

func TestCheckAddr(t *testing.T) {
	err := CheckAddr(netip.MustParseAddr("::ffff:10.0.0.1"))
	var ae *AddressError
	if !errors.As(err, &ae) || ae.Class != ClassPrivate {
		t.Errorf("CheckAddr(::ffff:10.0.0.1) = %v, want a private-address refusal", err)
	}
	if err := CheckAddr(netip.MustParseAddr("8.8.4.4")); err != nil {
		t.Errorf("CheckAddr(8.8.4.4) = %v, want nil", err)
	}
}
