package dev.backstop.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SqlTest {
    @Test
    void requalify_renamesTheDatabaseOfEveryQualifiedName_andNothingElse() {
        String view = "CREATE ALGORITHM=UNDEFINED DEFINER=`app`@`%` SQL SECURITY DEFINER VIEW `with_rate` AS select "
                + "`shop`.`item`.`id` AS `id`,`rates`.`rate`.`percent` AS `percent`,`shop`.`item`.`shop` AS `shop` "
                + "from (`shop`.`item` join `rates`.`rate` on(`rates`.`rate`.`id` = `shop`.`item`.`rate_id`))";

        assertThat(Sql.requalify(view, "shop", "shop_copy")).isEqualTo("CREATE ALGORITHM=UNDEFINED DEFINER=`app`@`%` SQL "
                + "SECURITY DEFINER VIEW `with_rate` AS select `shop_copy`.`item`.`id` AS `id`,`rates`.`rate`.`percent` AS "
                + "`percent`,`shop_copy`.`item`.`shop` AS `shop` from (`shop_copy`.`item` join `rates`.`rate` "
                + "on(`rates`.`rate`.`id` = `shop_copy`.`item`.`rate_id`))");
    }

    @Test
    void requalify_leavesStringLiteralsThatLookLikeQualifiedNames() {
        String view = "VIEW `v` AS select 'it''s `shop`.`x`' AS `a`,'\\'`shop`.`y`' AS `b`,\"`shop`.`z`\" AS `c` "
                + "from `shop`.`t`";

        assertThat(Sql.requalify(view, "shop", "copy")).isEqualTo("VIEW `v` AS select 'it''s `shop`.`x`' AS `a`,"
                + "'\\'`shop`.`y`' AS `b`,\"`shop`.`z`\" AS `c` from `copy`.`t`");
    }

    @Test
    void requalify_matchesWholeNames_withBackQuotesInside() {
        assertThat(Sql.requalify("from `sho`.`t` join `shop2`.`t` join `a``b`.`t`", "shop", "x"))
                .isEqualTo("from `sho`.`t` join `shop2`.`t` join `a``b`.`t`");
        assertThat(Sql.requalify("from `a``b`.`t` join `a`.`t`", "a`b", "c`d")).isEqualTo("from `c``d`.`t` join `a`.`t`");
        assertThat(Sql.requalify("select `shop` from `t`", "shop", "x")).isEqualTo("select `shop` from `t`");
    }

    @Test
    void qualifiesWith_findsTheDatabaseQualifyingANameQuotedOrNot_butNotInLiteralsOrLongerNames() {
        assertThat(Sql.qualifiesWith("INSERT INTO shop.audit VALUES (NEW.id)", "shop")).isTrue();
        assertThat(Sql.qualifiesWith("INSERT INTO `shop`.`audit` VALUES (NEW.id)", "shop")).isTrue();
        assertThat(Sql.qualifiesWith("INSERT INTO shop . audit VALUES (1)", "shop")).isFalse();
        assertThat(Sql.qualifiesWith("INSERT INTO audit VALUES ('shop.audit', \"shop.x\")", "shop")).isFalse();
        assertThat(Sql.qualifiesWith("INSERT INTO myshop.audit SELECT shop FROM shop_2.t", "shop")).isFalse();
        assertThat(Sql.qualifiesWith("SET @n = 'it''s'; INSERT INTO shop.t VALUES (@n)", "shop")).isTrue();
    }
}
