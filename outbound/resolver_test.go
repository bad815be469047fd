package outbound

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// fakeResolver returns a resolver whose DNS server is a goroutine answering
// from names (lower-case, without the trailing dot); other names get
// NXDOMAIN. It lets tests make a name resolve to loopback without touching
// the machine's DNS.
func fakeResolver(t *testing.T, names map[string][]netip.Addr) *net.Resolver {
	t.Helper()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			client, server := net.Pipe()
			go serveFakeDNS(server, names)
			return client, nil
		},
	}
}

// serveFakeDNS answers queries framed as over TCP (a two-byte length
// before each message), which is what Go's resolver sends on a conn that
// is not a PacketConn.
func serveFakeDNS(conn net.Conn, names map[string][]netip.Addr) {
	defer conn.Close()
	for {
		var size [2]byte
		if _, err := io.ReadFull(conn, size[:]); err != nil {
			return
		}
		query := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(conn, query); err != nil {
			return
		}
		answer := fakeDNSAnswer(query, names)
		if answer == nil {
			return
		}
		out := binary.BigEndian.AppendUint16(nil, uint16(len(answer)))
		if _, err := conn.Write(append(out, answer...)); err != nil {
			return
		}
	}
}

// fakeDNSAnswer builds the response to a single-question query.
func fakeDNSAnswer(query []byte, names map[string][]netip.Addr) []byte {
	if len(query) < 12 {
		return nil
	}
	// Walk the question name.
	var labels []string
	i := 12
	for i < len(query) && query[i] != 0 {
		n := int(query[i])
		if i+1+n > len(query) {
			return nil
		}
		labels = append(labels, string(query[i+1:i+1+n]))
		i += 1 + n
	}
	i++ // the root label
	if i+4 > len(query) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(query[i:])
	question := query[12 : i+4]
	name := strings.ToLower(strings.Join(labels, "."))

	var records [][]byte
	addrs, known := names[name]
	for _, a := range addrs {
		switch {
		case a.Is4() && qtype == 1:
			ip := a.As4()
			records = append(records, ip[:])
		case a.Is6() && qtype == 28:
			ip := a.As16()
			records = append(records, ip[:])
		}
	}
	flags := uint16(0x8000 | 0x0400 | 0x0080) // response, authoritative, recursion available
	flags |= binary.BigEndian.Uint16(query[2:]) & 0x0100
	if !known {
		flags |= 3 // NXDOMAIN
	}
	out := append([]byte(nil), query[0:2]...)
	out = binary.BigEndian.AppendUint16(out, flags)
	out = binary.BigEndian.AppendUint16(out, 1)
	out = binary.BigEndian.AppendUint16(out, uint16(len(records)))
	out = binary.BigEndian.AppendUint16(out, 0)
	out = binary.BigEndian.AppendUint16(out, 0)
	out = append(out, question...)
	for _, rdata := range records {
		out = append(out, 0xc0, 0x0c) // pointer to the question name
		out = binary.BigEndian.AppendUint16(out, qtype)
		out = binary.BigEndian.AppendUint16(out, 1) // IN
		out = binary.BigEndian.AppendUint32(out, 60)
		out = binary.BigEndian.AppendUint16(out, uint16(len(rdata)))
		out = append(out, rdata...)
	}
	return out
}

func TestFakeResolverAnswersFromItsTable(t *testing.T) {
	r := fakeResolver(t, map[string][]netip.Addr{
		"both.example": {netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("2001:db8::7")},
	})
	got, err := r.LookupNetIP(context.Background(), "ip", "both.example")
	if err != nil {
		t.Fatalf("lookup: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("got %v, want both addresses", got)
	}
	if _, err := r.LookupNetIP(context.Background(), "ip", "missing.example"); err == nil {
		t.Fatal("lookup of an unknown name succeeded")
	}
}
