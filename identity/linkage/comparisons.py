"""The Splink models: which comparisons carry the evidence for persons and for businesses, and the specs
that use them."""

from __future__ import annotations

from identity.linkage.spec import LinkSpec


def person_settings():
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name_levels = [
        {"sql_condition": "(name_key_l is null or name_key_r is null)"
                          " and (name_kana_key_l is null or name_kana_key_r is null)",
         "label_for_charts": "name missing", "is_null_level": True},
        # the term-frequency adjustment compares a name's frequency with this level's own u: left to itself,
        # Splink takes the u of the first single-column exact level on name_kana_key, which is the rare
        # "kana exact, kanji differs" below (u ~3e-6), and took ~10 bits off every exact match of a common name
        {"sql_condition": "name_key_l = name_key_r and name_kana_key_l = name_kana_key_r",
         "label_for_charts": "kanji and kana exact", "tf_adjustment_column": "name_kana_key",
         "disable_tf_exact_match_detection": True},
        {"sql_condition": "name_kana_key_l = name_kana_key_r", "label_for_charts": "kana exact, kanji differs"},
        {"sql_condition": "name_key_l = name_key_r", "label_for_charts": "kanji exact, kana differs"},
        {"sql_condition": "(name_key_l like replace(name_key_r, '〓', '_')"
                          " or name_key_r like replace(name_key_l, '〓', '_'))"
                          " and (contains(name_key_l, '〓') or contains(name_key_r, '〓'))",
         "label_for_charts": "kanji equal but for 外字 〓"},
        {"sql_condition": "(given_name_kana_key_l = given_name_kana_key_r or given_name_key_l = given_name_key_r)"
                          " and (former_surname_key_l = surname_key_r or former_surname_key_r = surname_key_l)",
         "label_for_charts": "same given name, surname is the other's 旧氏"},
        {"sql_condition": "jaro_winkler_similarity(name_kana_key_l, name_kana_key_r) >= 0.92"
                          " or jaro_winkler_similarity(name_key_l, name_key_r) >= 0.9",
         "label_for_charts": "one-character difference (typo)"},
        {"sql_condition": "given_name_kana_key_l = given_name_kana_key_r or given_name_key_l = given_name_key_r",
         "label_for_charts": "same given name, other surname"},
        cll.ElseLevel(),
    ]
    name = cl.CustomComparison(output_column_name="name", comparison_levels=name_levels,
                               comparison_description="kanji and kana name, one piece of evidence")
    birth = cl.CustomComparison(output_column_name="birth", comparison_levels=[
        {"sql_condition": "birth_year_l is null or birth_year_r is null", "label_for_charts": "birth missing",
         "is_null_level": True},
        {"sql_condition": "birth_date_l = birth_date_r", "label_for_charts": "same birth date",
         "tf_adjustment_column": "birth_date"},
        {"sql_condition": "birth_year_l = birth_year_r and birth_month_l = birth_month_r"
                          " and (birth_day_l is null or birth_day_r is null)",
         "label_for_charts": "same year and month, a day unknown"},
        {"sql_condition": "birth_year_l = birth_year_r and (birth_month_l = birth_month_r or birth_day_l = birth_day_r"
                          " or (birth_month_l = birth_day_r and birth_day_l = birth_month_r))",
         "label_for_charts": "same year, month or day differs"},
        {"sql_condition": "abs(birth_year_l - birth_year_r) <= 1 and birth_month_l = birth_month_r"
                          " and birth_day_l = birth_day_r", "label_for_charts": "year off by one"},
        cll.ElseLevel(),
    ])
    sex = cl.CustomComparison(output_column_name="sex", comparison_levels=[
        cll.NullLevel("sex_code"), cll.ExactMatchLevel("sex_code"), cll.ElseLevel()])
    address = cl.CustomComparison(output_column_name="address", comparison_levels=[
        {"sql_condition": "address_key_l is null or address_key_r is null", "label_for_charts": "address missing",
         "is_null_level": True},
        {"sql_condition": "address_key_l = address_key_r", "label_for_charts": "same address",
         "tf_adjustment_column": "address_key"},
        {"sql_condition": "town_l = town_r", "label_for_charts": "same town"},
        cll.ElseLevel(),
    ])
    phone = cl.CustomComparison(output_column_name="phone", comparison_levels=[
        cll.NullLevel("phone_key"), cll.ExactMatchLevel("phone_key"), cll.ElseLevel()])
    atena = cl.CustomComparison(output_column_name="atena", comparison_levels=[
        cll.NullLevel("atena_bango"),
        {"sql_condition": "atena_bango_l = atena_bango_r", "label_for_charts": "same 宛名番号"},
        {"sql_condition": "atena_bango_l <> atena_bango_r", "label_for_charts": "different valid 宛名番号"},
    ])
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[name, birth, sex, address, phone, atena],
        blocking_rules_to_generate_predictions=[
            block_on("name_kana_key", "birth_year"),
            block_on("name_key", "birth_year"),
            block_on("surname_kana_key", "birth_date"),
            block_on("given_name_kana_key", "birth_date"),
            block_on("address_key", "given_name_kana_key"),
            block_on("phone_key"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=True,
        additional_columns_to_retain=["source_system"],
    )


def business_settings():
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name = cl.CustomComparison(output_column_name="name", comparison_levels=[
        {"sql_condition": "(name_core_key_l is null or name_core_key_r is null)"
                          " and (name_kana_key_l is null or name_kana_key_r is null)",
         "label_for_charts": "name missing", "is_null_level": True},
        {"sql_condition": "name_core_key_l = name_core_key_r", "label_for_charts": "same name without legal form",
         "tf_adjustment_column": "name_core_key"},
        {"sql_condition": "list_contains(former_name_core_keys_l, name_core_key_r)"
                          " or list_contains(former_name_core_keys_r, name_core_key_l)",
         "label_for_charts": "one's name is the other's former name (NTA history)"},
        {"sql_condition": "name_kana_key_l = name_kana_key_r or name_core_key_l = name_kana_key_r"
                          " or name_kana_key_l = name_core_key_r", "label_for_charts": "same name in kana"},
        {"sql_condition": "jaro_winkler_similarity(name_core_key_l, name_core_key_r) >= 0.9",
         "label_for_charts": "name close"},
        cll.ElseLevel(),
    ])
    form = cl.CustomComparison(output_column_name="legal_form", comparison_levels=[
        cll.NullLevel("legal_form"), cll.ExactMatchLevel("legal_form"), cll.ElseLevel()])
    address = cl.CustomComparison(output_column_name="address", comparison_levels=[
        {"sql_condition": "address_key_l is null or address_key_r is null", "label_for_charts": "address missing",
         "is_null_level": True},
        {"sql_condition": "address_key_l = address_key_r", "label_for_charts": "same address"},
        {"sql_condition": "town_l = town_r", "label_for_charts": "same town"},
        cll.ElseLevel(),
    ])
    phone = cl.CustomComparison(output_column_name="phone", comparison_levels=[
        cll.NullLevel("phone_key"), cll.ExactMatchLevel("phone_key"), cll.ElseLevel()])
    houjin = cl.CustomComparison(output_column_name="houjin_bango", comparison_levels=[
        cll.NullLevel("houjin_bango"),
        {"sql_condition": "houjin_bango_l = houjin_bango_r", "label_for_charts": "same 法人番号"},
        {"sql_condition": "houjin_bango_l <> houjin_bango_r", "label_for_charts": "different valid 法人番号"},
    ])
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[name, form, address, phone, houjin],
        blocking_rules_to_generate_predictions=[
            block_on("name_core_key"), block_on("name_kana_key"), block_on("phone_key"),
            block_on("address_key"),
        ],
        retain_matching_columns=True,
        additional_columns_to_retain=["source_system"],
    )


PERSON = LinkSpec(
    entity="person", input_table="int_person_records_unioned",
    columns=("unique_id", "source_system", "source_record_key", "atena_bango", "kojin_bango_token", "setai_bango",
             "name_key", "surname_key", "given_name_key", "name_kana_key", "surname_kana_key", "given_name_kana_key",
             "former_surname_key", "birth_year", "birth_month", "birth_day", "birth_date", "sex_code",
             "address_key", "town", "phone_key"),
    compared=("name_key", "name_kana_key", "birth_date", "birth_year", "birth_month", "birth_day", "sex_code",
              "address_key", "town", "phone_key", "atena_bango"),
    deterministic_keys=("atena_bango", "kojin_bango_token"),
    guard_key="atena_bango",
    unique_per_entity=("kokuho",),
    em_rules=(("birth_date",), ("name_kana_key", "town")),
    settings=person_settings,
    exact_agreement=("name_key", "name_kana_key", "birth_date", "address_key"),
    not_key_evidence=("atena", "address"),
)

BUSINESS = LinkSpec(
    entity="business", input_table="int_business_records_unioned",
    columns=("unique_id", "source_system", "source_record_key", "houjin_bango", "name_core_key",
             "former_name_core_keys", "name_kana_key", "legal_form", "address_key", "town", "phone_key"),
    compared=("name_core_key", "name_kana_key", "legal_form", "address_key", "town", "phone_key", "houjin_bango"),
    deterministic_keys=("houjin_bango",),
    guard_key="houjin_bango",
    unique_per_entity=("houjin",),
    em_rules=(("town",), ("name_core_key",)),
    settings=business_settings,
    exact_agreement=("name_core_key", "address_key"),
    not_key_evidence=("houjin_bango",),
)
