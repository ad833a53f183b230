package validation

import (
	"net/netip"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	maxTopologyLabels = 16
	maxAddresses      = 100
	maxSlicePorts     = 100
	maxSliceEndpoints = 1000
)

var (
	supportedAddressTypes = sets.New(discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN)
	// deprecatedAddressTypes are accepted on update only.
	deprecatedAddressTypes = sets.New(discoveryv1.AddressType("IP"))
)

func validateEndpointSlice(es *discoveryv1.EndpointSlice, update bool) field.ErrorList {
	errs := validateMeta(&es.ObjectMeta, true, nameIsDNSSubdomain)
	valid := supportedAddressTypes
	if update {
		valid = valid.Union(deprecatedAddressTypes)
	}
	typePath := field.NewPath("addressType")
	switch {
	case es.AddressType == "":
		errs = append(errs, field.Required(typePath, ""))
	case !valid.Has(es.AddressType):
		errs = append(errs, field.NotSupported(typePath, es.AddressType, sets.List(valid)))
	}
	errs = append(errs, validateSliceEndpoints(es.Endpoints, es.AddressType, field.NewPath("endpoints"))...)
	return append(errs, validateSlicePorts(es.Ports, field.NewPath("ports"))...)
}

func validateEndpointSliceUpdate(es, old *discoveryv1.EndpointSlice) field.ErrorList {
	errs := validateMetaUpdate(&es.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateEndpointSlice(es, true)...)
	return append(errs, validateImmutable(es.AddressType, old.AddressType, field.NewPath("addressType"))...)
}

func validateSliceEndpoints(endpoints []discoveryv1.Endpoint, addrType discoveryv1.AddressType, fldPath *field.Path) field.ErrorList {
	if len(endpoints) > maxSliceEndpoints {
		return field.ErrorList{field.TooMany(fldPath, len(endpoints), maxSliceEndpoints)}
	}
	var errs field.ErrorList
	for i, ep := range endpoints {
		p := fldPath.Index(i)
		addrPath := p.Child("addresses")
		switch {
		case len(ep.Addresses) == 0:
			errs = append(errs, field.Required(addrPath, "must contain at least 1 address"))
		case len(ep.Addresses) > maxAddresses:
			errs = append(errs, field.TooMany(addrPath, len(ep.Addresses), maxAddresses))
		}
		for j, a := range ep.Addresses {
			errs = append(errs, validateSliceAddress(a, addrType, addrPath.Index(j))...)
		}
		topoPath := p.Child("topology")
		if len(ep.DeprecatedTopology) > maxTopologyLabels {
			errs = append(errs, field.TooMany(topoPath, len(ep.DeprecatedTopology), maxTopologyLabels))
		}
		errs = append(errs, validateLabels(ep.DeprecatedTopology, topoPath)...)
		if ep.Hostname != nil {
			errs = append(errs, validateDNS1123Label(*ep.Hostname, p.Child("hostname"))...)
		}
	}
	return errs
}

// validateSliceAddress checks one address against the slice's type;
// addresses of unknown types are not checked.
func validateSliceAddress(a string, addrType discoveryv1.AddressType, fldPath *field.Path) field.ErrorList {
	switch addrType {
	case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6:
		errs := utilvalidation.IsValidIPForLegacyField(fldPath, a, true, nil)
		if len(errs) > 0 {
			return errs
		}
		ip, err := netip.ParseAddr(a)
		if err == nil && addrType == discoveryv1.AddressTypeIPv4 && !ip.Is4() {
			return field.ErrorList{field.Invalid(fldPath, a, "must be an IPv4 address")}
		}
		if err == nil && addrType == discoveryv1.AddressTypeIPv6 && ip.Is4() {
			return field.ErrorList{field.Invalid(fldPath, a, "must be an IPv6 address")}
		}
		return validateNonSpecialIP(a, fldPath)
	case discoveryv1.AddressTypeFQDN:
		return utilvalidation.IsFullyQualifiedDomainName(fldPath, a)
	case "IP":
		return utilvalidation.IsValidIPForLegacyField(fldPath, a, false, nil)
	}
	return nil
}

func validateSlicePorts(ports []discoveryv1.EndpointPort, fldPath *field.Path) field.ErrorList {
	if len(ports) > maxSlicePorts {
		return field.ErrorList{field.TooMany(fldPath, len(ports), maxSlicePorts)}
	}
	var errs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		p := fldPath.Index(i)
		name := deref(port.Name, "")
		if name != "" {
			errs = append(errs, validateDNS1123Label(name, p.Child("name"))...)
		}
		if names.Has(name) {
			errs = append(errs, field.Duplicate(p.Child("name"), port.Name))
		}
		names.Insert(name)
		if port.Protocol == nil {
			errs = append(errs, field.Required(p.Child("protocol"), ""))
		} else if !supportedPortProtocols.Has(*port.Protocol) {
			errs = append(errs, field.NotSupported(p.Child("protocol"), *port.Protocol, sets.List(supportedPortProtocols)))
		}
		if port.AppProtocol != nil {
			errs = append(errs, invalidEach(p.Child("appProtocol"), port.AppProtocol, utilvalidation.IsQualifiedName(*port.AppProtocol))...)
		}
	}
	return errs
}
