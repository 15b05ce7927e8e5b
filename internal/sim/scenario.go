package sim

import (
	"time"
)

// A Scenario describes a simulated network and incident. The zero value is
// not useful; start from [DefaultScenario] or [LoadScenario], which decode
// a YAML file over the defaults. Counts are for the "full" size; the
// "small" size multiplies them by Small.Scale and runs for Small.Duration.
type Scenario struct {
	Name        string        `yaml:"name"`
	Description string        `yaml:"description"`
	Seed        uint64        `yaml:"seed"`     // used when Options.Seed is 0
	Start       time.Time     `yaml:"start"`    // simulated time of the first event
	Duration    time.Duration `yaml:"duration"` // full-size run length
	Small       Size          `yaml:"small"`
	Network     Network       `yaml:"network"`
	Hosts       Hosts         `yaml:"hosts"`
	Botnet      Botnet        `yaml:"botnet"`
	Lookalikes  Lookalikes    `yaml:"lookalikes"`
	Logins      Logins        `yaml:"logins"`
	Export      Export        `yaml:"export"`
}

// Size scales a scenario down: populations are multiplied by Scale (and
// kept at one where they were non-zero) and the run lasts Duration.
type Size struct {
	Scale    float64       `yaml:"scale"`
	Duration time.Duration `yaml:"duration"`
}

// Network sets how inside addresses are assigned. The address plan itself
// is fixed (see the package documentation).
type Network struct {
	IPv6  float64 `yaml:"ipv6"` // share of hosts that are dual-stack
	Churn Churn   `yaml:"churn"`
	CGNAT CGNAT   `yaml:"cgnat"`
}

// Churn makes hosts change address, as DHCP and PPPoE lines do.
type Churn struct {
	Share     float64       `yaml:"share"`      // share of hosts whose address changes
	MeanLease time.Duration `yaml:"mean_lease"` // mean time between changes for them
}

// CGNAT puts a share of hosts behind carrier-grade NAT addresses, each
// shared by PerAddr hosts.
type CGNAT struct {
	Share   float64 `yaml:"share"`
	PerAddr int     `yaml:"per_addr"`
}

// Hosts sets the inside population and how busy it is.
type Hosts struct {
	PC     int   `yaml:"pc"`     // phones and PCs: human rhythm, many destinations
	IoT    int   `yaml:"iot"`    // cameras, DVRs, plugs: few, regular destinations
	Router int   `yaml:"router"` // end-of-life home routers: own traffic plus the household's
	Server int   `yaml:"server"` // servers answering outside clients
	Rates  Rates `yaml:"rates"`
	Sites  int   `yaml:"sites"` // outside destinations humans visit
}

// Rates are mean sessions per host per day, by class.
type Rates struct {
	PC     float64 `yaml:"pc"`
	IoT    float64 `yaml:"iot"`
	Router float64 `yaml:"router"` // household traffic behind a router
	Server float64 `yaml:"server"` // inbound sessions
}

// Botnet describes the proxy botnet. Kind "5socks" relays through a
// listening port on the bot; "nsocks" relays through long sessions from
// the bot to backconnect servers; "none" simulates no botnet.
type Botnet struct {
	Kind        string      `yaml:"kind"`
	Bots        int         `yaml:"bots"`         // distinct infected hosts over the run
	RouterShare float64     `yaml:"router_share"` // share of bots that are routers; the rest are IoT
	Initial     float64     `yaml:"initial"`      // share already infected at the start
	Cleaned     float64     `yaml:"cleaned"`      // share cleaned up during the run
	C2          C2          `yaml:"c2"`
	Collector   Collector   `yaml:"collector"`
	Relay       Relay       `yaml:"relay"`
	Backconnect Backconnect `yaml:"backconnect"`
}

// C2 describes the command-and-control servers and the bots' beacons.
type C2 struct {
	Servers int           `yaml:"servers"` // TCP C2 servers, in 203.0.113.16/28
	Port    uint16        `yaml:"port"`
	Beacon  time.Duration `yaml:"beacon"` // mean interval
	Jitter  float64       `yaml:"jitter"` // uniform, as a share of the interval
	Pin     DurRange      `yaml:"pin"`    // how long a bot stays with one server
}

// Collector describes the silent UDP collector that bots report to.
type Collector struct {
	Enabled  bool          `yaml:"enabled"`
	Port     uint16        `yaml:"port"`
	Interval time.Duration `yaml:"interval"`
	Jitter   float64       `yaml:"jitter"`
	Bytes    IntRange      `yaml:"bytes"` // datagram payload size range
}

// Relay describes the proxy customers' use of the bots.
type Relay struct {
	PerDay    FloatRange `yaml:"per_day"`   // relayed sessions per bot per day (range over bots)
	Delay     DurRange   `yaml:"delay"`     // inbound start to outbound start
	Customers int        `yaml:"customers"` // outside customer addresses
	Failed    float64    `yaml:"failed"`    // share of relays whose outbound leg fails
}

// Backconnect describes the nsocks tunnels.
type Backconnect struct {
	Servers   int           `yaml:"servers"` // in 203.0.113.64/28
	Port      uint16        `yaml:"port"`
	Session   DurRange      `yaml:"session"`   // tunnel lifetime range
	Keepalive time.Duration `yaml:"keepalive"` // idle tunnels send a small packet this often
}

// Lookalikes sets how many honest hosts of each misleading kind exist.
type Lookalikes struct {
	NTP        int `yaml:"ntp"`         // small periodic UDP to a pool server (answered)
	Update     int `yaml:"update"`      // periodic HTTPS update checks
	Monitor    int `yaml:"monitor"`     // monitoring agent beacon on an unusual port
	HomeServer int `yaml:"home_server"` // residential server answering many clients on 8080
	VPN        int `yaml:"vpn"`         // long, busy tunnel to one VPN server
	OfficeNAT  int `yaml:"office_nat"`  // outside offices whose many users log in from one address
}

// Logins describes the login traffic against the ssh and web services.
type Logins struct {
	SSH        LoginService `yaml:"ssh"`
	Web        LoginService `yaml:"web"`
	BruteForce BruteForce   `yaml:"bruteforce"`
	Campaigns  []Campaign   `yaml:"campaigns"`
	NewSources float64      `yaml:"new_sources"` // share of users seen from a new address during a campaign
}

// LoginService describes one service's honest users.
type LoginService struct {
	Users     int     `yaml:"users"`
	PerDay    float64 `yaml:"per_day"`    // logins per user per day
	Password  float64 `yaml:"password"`   // ssh: share of logins by password (the rest by key)
	Typo      float64 `yaml:"typo"`       // chance a login starts with a wrong password
	WrongUser float64 `yaml:"wrong_user"` // chance it starts with a mistyped user name
	Inside    float64 `yaml:"inside"`     // share of users at home inside the network
	PageViews float64 `yaml:"page_views"` // web: other requests per user per day, for the access log
}

// BruteForce describes the single-source password guesser against ssh.
type BruteForce struct {
	Enabled  bool          `yaml:"enabled"`
	At       float64       `yaml:"at"` // start, as a share of the run
	Duration time.Duration `yaml:"duration"`
	Gap      DurRange      `yaml:"gap"`     // between connections
	Guesses  IntRange      `yaml:"guesses"` // per connection (sshd allows 6)
}

// Campaign describes a distributed login attack relayed through proxies.
type Campaign struct {
	Service      string        `yaml:"service"` // "web" or "ssh"
	At           float64       `yaml:"at"`      // start, as a share of the run
	Duration     time.Duration `yaml:"duration"`
	Participants int           `yaml:"participants"`  // distinct source addresses
	OutsideShare float64       `yaml:"outside_share"` // share that are proxies in other networks
	Attempts     IntRange      `yaml:"attempts"`      // per address
	Accounts     int           `yaml:"accounts"`      // user names in the attacker's list
	Known        float64       `yaml:"known"`         // share of the list that are real accounts
	Success      float64       `yaml:"success"`       // chance a real account's leaked password works
}

// Export sets the simulated NetFlow/IPFIX exporter at the network's edge.
type Export struct {
	Sampling      int           `yaml:"sampling"`       // 1 in N packets, 1 to 1000
	ActiveTimeout time.Duration `yaml:"active_timeout"` // long flows are exported at least this often
	IdleTimeout   time.Duration `yaml:"idle_timeout"`   // a flow silent this long ends
	ClockSkew     time.Duration `yaml:"clock_skew"`     // exporter clock minus true time
	TemplateEvery int           `yaml:"template_every"` // packets between template refreshes
	SourceID      uint32        `yaml:"source_id"`      // v9 source ID, IPFIX observation domain
}

// DefaultScenario returns the 5socks incident at full size, the base every
// scenario file is decoded over.
func DefaultScenario() Scenario {
	h := time.Hour
	return Scenario{
		Name:     "5socks",
		Seed:     1,
		Start:    time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC),
		Duration: 7 * 24 * h,
		Small:    Size{Scale: 0.04, Duration: 48 * h},
		Network: Network{
			IPv6:  0.2,
			Churn: Churn{Share: 0.2, MeanLease: 72 * h},
			CGNAT: CGNAT{Share: 0.05, PerAddr: 8},
		},
		Hosts: Hosts{
			PC: 4000, IoT: 1500, Router: 3000, Server: 40,
			Rates: Rates{PC: 220, IoT: 60, Router: 60, Server: 1500},
			Sites: 3000,
		},
		Botnet: Botnet{
			Kind: "5socks", Bots: 1000, RouterShare: 0.7, Initial: 0.8, Cleaned: 0.1,
			C2: C2{Servers: 4, Port: 28432, Beacon: 5 * time.Minute, Jitter: 0.2,
				Pin: DurRange{48 * h, 144 * h}},
			Collector: Collector{Enabled: true, Port: 41414, Interval: 30 * time.Minute,
				Jitter: 0.1, Bytes: IntRange{40, 120}},
			Relay: Relay{PerDay: FloatRange{10, 120},
				Delay:     DurRange{20 * time.Millisecond, 400 * time.Millisecond},
				Customers: 3000, Failed: 0.05},
			Backconnect: Backconnect{Servers: 3, Port: 443,
				Session: DurRange{2 * h, 10 * h}, Keepalive: 30 * time.Second},
		},
		Lookalikes: Lookalikes{NTP: 20, Update: 20, Monitor: 10, HomeServer: 5, VPN: 10, OfficeNAT: 3},
		Logins: Logins{
			SSH: LoginService{Users: 40, PerDay: 3, Password: 0.2, Typo: 0.05, WrongUser: 0.01, Inside: 0.3},
			Web: LoginService{Users: 3000, PerDay: 0.5, Typo: 0.06, WrongUser: 0.02, Inside: 0.2, PageViews: 6},
			BruteForce: BruteForce{Enabled: true, At: 0.3, Duration: 3 * h,
				Gap: DurRange{2 * time.Second, 12 * time.Second}, Guesses: IntRange{1, 6}},
			Campaigns: []Campaign{
				{Service: "web", At: 0.55, Duration: 6 * h, Participants: 1500, OutsideShare: 0.4,
					Attempts: IntRange{1, 2}, Accounts: 4000, Known: 0.3, Success: 0.02},
				{Service: "ssh", At: 0.75, Duration: 8 * h, Participants: 800, OutsideShare: 0.4,
					Attempts: IntRange{1, 2}, Accounts: 300, Known: 0.05, Success: 0},
			},
			NewSources: 0.05,
		},
		Export: Export{Sampling: 1, ActiveTimeout: 60 * time.Second, IdleTimeout: 15 * time.Second,
			TemplateEvery: 20, SourceID: 1},
	}
}
