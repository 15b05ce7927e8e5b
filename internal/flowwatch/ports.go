package flowwatch

// commonPorts are registered ports of everyday services above 1023:
// sessions to them are not "unusual". Ports below 1024 are all common.
var commonPorts = map[uint16]bool{
	1194: true, 1433: true, 1521: true, 1701: true, 1723: true, 1883: true, 1935: true,
	2049: true, 2083: true, 2087: true, 3074: true, 3306: true, 3389: true, 3478: true,
	3479: true, 4500: true, 5000: true, 5004: true, 5060: true, 5061: true, 5222: true,
	5223: true, 5228: true, 5349: true, 5353: true, 5432: true, 5683: true, 5684: true,
	5938: true, 6881: true, 8008: true, 8009: true, 8443: true, 8883: true, 9000: true,
	9443: true, 19302: true, 51820: true,
}

// unusualPort reports whether p is neither a well-known port nor a
// registered port of an everyday service.
func unusualPort(p uint16) bool { return p >= 1024 && !commonPorts[p] }

// proxyPort reports whether p is one of the configured proxy ports.
func (w *Watch) proxyPort(p uint16) bool {
	for _, q := range w.cfg.Exposed.Ports {
		if p == q {
			return true
		}
	}
	return false
}
