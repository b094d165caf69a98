// The HTTP groups over both protocols: each such group runs a second time as
// "<group> over HTTP/2", with a fixture whose HTTP servers are their HTTP/2
// twins (h2 only, same certificates and routes: test/support/http2-twins.ts),
// leaving out the scenarios marked `http1Only`. A run over HTTP/2 that went
// over HTTP/1.1 would prove nothing, so each scenario must show that it
// reached a twin: a stream the twins served, or a handshake a client refused
// (its pins failing on purpose), and no handshake refused for not offering h2.
import { type Group, type Scenario, assert, eventually } from "./check.js";
import { type Fixture, HTTP2_TWINS, type Http2TwinName, type ServerName, type ServerStats } from "./description.js";

/** Which twin stands for which server. */
type Twins = Partial<Record<ServerName, Http2TwinName>>;

/**
 * The group run over HTTP/2 against the twins of its servers (each server's own, or the one `instead` names),
 * without its scenarios that are HTTP/1.1 only.
 */
export function overHttp2(group: Group, instead: Twins = {}): Group {
  return {
    name: `${group.name} over HTTP/2`,
    scenarios: group.scenarios
      .filter((scenario) => !scenario.http1Only)
      .map((scenario) => overTwins(scenario, instead)),
  };
}

function overTwins(scenario: Scenario, instead: Twins): Scenario {
  const { timeout } = scenario;
  return {
    name: scenario.name,
    run: async (fixture) => {
      const before = totals(await twinStats(fixture));
      await scenario.run(twinsOf(fixture, instead));
      // A refused handshake may be counted just after the client gave up on it.
      const after = await eventually(
        async () => totals(await twinStats(fixture)),
        (now) => now.requests > before.requests || now.handshakeFailures > before.handshakeFailures,
        "streams and refused handshakes at the HTTP/2 twins: the scenario reached none, so it proves nothing over h2",
      );
      assert.equal(after.alpnRefusals, before.alpnRefusals, "handshakes a twin refused because h2 was not offered");
    },
    ...(timeout && { timeout: (fixture: Fixture) => timeout(twinsOf(fixture, instead)) }),
  };
}

/** The fixture with the twins' ports and counters in place of their servers'. */
function twinsOf(fixture: Fixture, instead: Twins): Fixture {
  const own = HTTP2_TWINS.filter((twin) => Object.hasOwn(fixture.ports, twin)).map((twin) => [twin, twin]);
  const twins: Twins = { ...Object.fromEntries(own), ...instead };
  const ports = Object.entries(twins).map(([server, twin]) => [server, fixture.http2Twins[twin]]);
  return {
    ...fixture,
    protocol: "h2",
    ports: { ...fixture.ports, ...Object.fromEntries(ports) },
    stats: async (server) => {
      const twin = twins[server];
      return twin ? (await twinStats(fixture))[twin] : fixture.stats(server);
    },
  };
}

async function twinStats(fixture: Fixture): Promise<Record<Http2TwinName, ServerStats>> {
  const response = await fetch(`${fixture.control}/http2-stats`);
  if (!response.ok) throw new Error(`no stats for the HTTP/2 twins: ${response.status}`);
  return (await response.json()) as Record<Http2TwinName, ServerStats>;
}

function totals(stats: Record<Http2TwinName, ServerStats>) {
  const sum = (count: (twin: ServerStats) => number) =>
    Object.values(stats).reduce((total, twin) => total + count(twin), 0);
  return {
    requests: sum((twin) => twin.requests),
    handshakeFailures: sum((twin) => twin.handshakeFailures),
    alpnRefusals: sum((twin) => twin.alpnRefusals ?? 0),
  };
}
