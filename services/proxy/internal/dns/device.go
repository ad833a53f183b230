package dns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// DefaultDevice is the device gantry-proxy puts the cluster DNS address
// on.
const DefaultDevice = "gantry-dns"

// deviceTypes are the device types EnsureDevice makes, in order of
// preference: kernels without the dummy driver (CONFIG_DUMMY) get an ifb
// device, which holds addresses just as well.
var deviceTypes = []string{"dummy", "ifb"}

// EnsureDevice makes the dummy device name exist and be up with exactly
// the addresses addrs (as /32 or /128), so the kernel delivers packets
// for them locally.
func EnsureDevice(name string, addrs []netip.Addr) error {
	link, err := ensureLink(name)
	if err != nil {
		return err
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	have, err := netlink.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("list addresses of %s: %w", name, err)
	}
	want := map[netip.Addr]bool{}
	for _, a := range addrs {
		want[a.Unmap()] = true
	}
	for _, a := range have {
		ip, ok := netip.AddrFromSlice(a.IP)
		if ok && want[ip.Unmap()] {
			delete(want, ip.Unmap())
			continue
		}
		if ok && ip.Is6() && ip.IsLinkLocalUnicast() {
			continue
		}
		if err := netlink.AddrDel(link, &a); err != nil {
			return fmt.Errorf("remove %s from %s: %w", a.IPNet, name, err)
		}
	}
	for ip := range want {
		bits := ip.BitLen()
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(bits, bits)}}
		if ip.Is6() {
			addr.Flags = unix.IFA_F_NODAD // usable at once, not tentative
		}
		if err := netlink.AddrReplace(link, addr); err != nil {
			return fmt.Errorf("add %s to %s: %w", ip, name, err)
		}
	}
	return nil
}

func ensureLink(name string) (netlink.Link, error) {
	link, err := netlink.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	if err == nil {
		if !slices.Contains(deviceTypes, link.Type()) {
			return nil, fmt.Errorf("%s exists and is a %s device, not a dummy", name, link.Type())
		}
		return link, nil
	}
	if !errors.As(err, &notFound) {
		return nil, fmt.Errorf("look up %s: %w", name, err)
	}
	attrs := netlink.LinkAttrs{Name: name}
	for _, dev := range []netlink.Link{&netlink.Dummy{LinkAttrs: attrs}, &netlink.Ifb{LinkAttrs: attrs}} {
		err = netlink.LinkAdd(dev)
		if err == nil || errors.Is(err, unix.EEXIST) {
			return netlink.LinkByName(name)
		}
		if !errors.Is(err, unix.EOPNOTSUPP) {
			break
		}
	}
	return nil, fmt.Errorf("create %s: %w", name, err)
}

// RemoveDevice deletes the device EnsureDevice made, if it exists; a
// device of another type is left alone with an error.
func RemoveDevice(name string) error {
	link, err := netlink.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up %s: %w", name, err)
	}
	if !slices.Contains(deviceTypes, link.Type()) {
		return fmt.Errorf("%s is a %s device, not a dummy: left alone", name, link.Type())
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}
