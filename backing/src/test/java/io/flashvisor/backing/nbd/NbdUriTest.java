package io.flashvisor.backing.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.StringLength;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class NbdUriTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "nbd://example.com/disk            | example.com | 10809 | disk",
        "nbd://example.com:10810/disk      | example.com | 10810 | disk",
        "nbd://example.com/                | example.com | 10809 | ''",
        "nbd://example.com                 | example.com | 10809 | ''",
        "nbd://example.com//disk           | example.com | 10809 | /disk",
        "nbd://example.com/hello%20world   | example.com | 10809 | hello world",
        "nbd://192.168.1.2:1234/a/b        | 192.168.1.2 | 1234  | a/b",
        "nbd://[::1]:777/x                 | ::1         | 777   | x",
        "NBD://user@host/x?tls-verify-peer=0 | host      | 10809 | x",
        "nbd://host/%C3%A9t%C3%A9+x        | host        | 10809 | été+x",
    })
    void parsesTcpForms(String text, String host, int port, String export) {
        NbdUri uri = NbdUri.parse(text);
        assertThat(uri.host()).isEqualTo(host);
        assertThat(uri.port()).isEqualTo(port);
        assertThat(uri.exportName()).isEqualTo(export);
        assertThat(uri.isUnix()).isFalse();
        assertThat(uri.socket()).isNull();
        assertThat(((InetSocketAddress) uri.address()).getPort()).isEqualTo(port);
    }

    @Test
    void parsesUnixForms() {
        NbdUri uri = NbdUri.parse("nbd+unix:///disk?socket=/run/nbd%20x.sock");
        assertThat(uri.isUnix()).isTrue();
        assertThat(uri.socket()).isEqualTo(Path.of("/run/nbd x.sock"));
        assertThat(uri.exportName()).isEqualTo("disk");
        assertThat(uri.address()).isEqualTo(UnixDomainSocketAddress.of("/run/nbd x.sock"));

        assertThat(NbdUri.parse("nbd+unix:///?socket=nbd.sock").exportName()).isEmpty();
        assertThat(NbdUri.parse("nbd+unix://?socket=nbd.sock").socket()).isEqualTo(Path.of("nbd.sock"));
        assertThat(NbdUri.parse("nbd+unix:///e?x-debug=1&socket=/s").socket()).isEqualTo(Path.of("/s"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "''                                    | does not start with",
        "/path/to/disk                         | does not start with",
        "http://example.com/x                  | not an NBD scheme",
        "nbds://example.com/x                  | TLS",
        "nbds+unix:///x?socket=/s              | TLS",
        "nbd:///disk                           | no valid host",
        "nbd://exa mple.com/x                  | not a valid URI",
        "nbd://example.com:0/x                 | port 0",
        "nbd://example.com:99999/x             | port 99999",
        "nbd://example.com/x?socket=/s         | socket parameter belongs",
        "nbd://example.com/x?bogus=1           | unknown query parameter 'bogus'",
        "nbd://example.com/x#frag              | fragment",
        "nbd://example.com/a%00b               | NUL",
        "nbd://example.com/a%zz                | not a valid URI",
        "nbd+unix:///x                         | needs a socket parameter",
        "nbd+unix:///x?socket=                 | needs a socket parameter",
        "nbd+unix://host/x?socket=/s           | has no host",
        "nbd+unix:///x?socket=%00abstract      | abstract",
        "nbd+unix:///x?socket=/a&socket=/b     | given twice",
        "nbd:opaque                            | does not start with",
    })
    void rejectsBadUrisWithAClearMessage(String text, String why) {
        assertThatThrownBy(() -> NbdUri.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(why)
                .hasMessageContaining("expected nbd://HOST[:PORT]/EXPORT or nbd+unix:///EXPORT?socket=PATH");
    }

    @ParameterizedTest
    @ValueSource(strings = {"nbd://h:1/x", "nbd://[::1]:10809/a%20b/c", "nbd+unix:///e%C3%A9?socket=/tmp/a%20b.sock"})
    void toStringIsCanonicalAndParsesBack(String text) {
        NbdUri uri = NbdUri.parse(text);
        assertThat(NbdUri.parse(uri.toString())).isEqualTo(uri);
    }

    @Property(tries = 300)
    void anyExportNameRoundTrips(@ForAll @StringLength(max = 40) String name, @ForAll @IntRange(min = 1, max = 65535) int port) {
        if (name.indexOf('\0') >= 0 || name.chars().anyMatch(c -> Character.isSurrogate((char) c))) {
            return; // not representable as an export name / as UTF-8
        }
        NbdUri tcp = NbdUri.tcp("host.example", port, name);
        assertThat(NbdUri.parse(tcp.toString())).isEqualTo(tcp);
        NbdUri unix = NbdUri.unix(Path.of("/run/x.sock"), name);
        assertThat(NbdUri.parse(unix.toString())).isEqualTo(unix);
    }
}
