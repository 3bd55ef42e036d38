package dev.backstop.core.internal.builder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SettingsTest {

    @Test
    void once_secondGiving_isRefusedWithBothValues() {
        Settings s = new Settings();
        assertThat(s.once("jobs", 2, 4)).isEqualTo(4);
        assertThat(s.given("jobs")).isTrue();
        assertThatThrownBy(() -> s.once("jobs", 4, 8)).isInstanceOf(IllegalStateException.class)
                .hasMessage("jobs: already set to 4, given again 8");
    }

    @Test
    void onlyOnce_refusesASecondValue_whereUnsetIsNull() {
        assertThat(Settings.onlyOnce("name", null, "a")).isEqualTo("a");
        assertThatThrownBy(() -> Settings.onlyOnce("name", "a", "b")).isInstanceOf(IllegalStateException.class)
                .hasMessage("name: already set to a, given again b");
    }

    @Test
    void aSwitch_givenTwice_isRefused() {
        Settings s = new Settings();
        s.once("noEncryption");
        assertThatThrownBy(() -> s.once("noEncryption")).isInstanceOf(IllegalStateException.class)
                .hasMessage("noEncryption: already set, given again");
    }
}
