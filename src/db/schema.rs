// Written by hand, not by `diesel print-schema`: only types both backends share through MultiConnection
// (BigInt, Integer, Text, Bool, Timestamp, Date, Nullable) may appear here.

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        display_name -> Text,
        password_hash -> Nullable<Text>,
        role -> Text,
        is_active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        totp_secret -> Nullable<Text>,
        totp_enabled_at -> Nullable<Timestamp>,
        totp_last_step -> Nullable<BigInt>,
    }
}

diesel::table! {
    held_forms (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        path -> Text,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> BigInt,
        user_id -> BigInt,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    user_sessions (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        ip_address -> Nullable<Text>,
        device -> Text,
        second_factor_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        token_hash -> Text,
        display_prefix -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    email_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        purpose -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> BigInt,
        throttle_key -> Text,
        failed_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        occurred_at -> Timestamp,
        actor_user_id -> Nullable<BigInt>,
        action -> Text,
        object_type -> Text,
        object_id -> Nullable<Text>,
        ip_address -> Nullable<Text>,
        request_id -> Nullable<Text>,
        details -> Text,
        study_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    studies (id) {
        id -> BigInt,
        title -> Text,
        summary -> Text,
        created_by -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        jargon -> Text,
        service_areas -> Text,
        anonymise_responses -> Bool,
        small_count_threshold -> Integer,
        next_participant_number -> Integer,
        changes_after_submit -> Bool,
        co_designers_read_analysis -> Bool,
        analysts_see_participants -> Bool,
        closed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    study_members (id) {
        id -> BigInt,
        study_id -> BigInt,
        user_id -> BigInt,
        is_lead -> Bool,
        is_co_designer -> Bool,
        is_interviewer -> Bool,
        is_analyst -> Bool,
        perspective -> Text,
        added_at -> Timestamp,
    }
}

diesel::table! {
    study_invitations (id) {
        id -> BigInt,
        study_id -> BigInt,
        user_id -> BigInt,
        invited_name -> Text,
        is_lead -> Bool,
        is_co_designer -> Bool,
        is_interviewer -> Bool,
        is_analyst -> Bool,
        perspective -> Text,
        invited_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    questionnaires (id) {
        id -> BigInt,
        study_id -> BigInt,
        title -> Text,
        description -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        info_summary -> Text,
        info_full_text -> Text,
        info_data_use -> Text,
        withdrawal_days -> Integer,
        withdrawal_after -> Text,
        retention -> Text,
        contact_details -> Text,
        distress_signposting -> Text,
        consent_statements -> Text,
        info_lock_version -> Integer,
        signoff_member_ids -> Text,
        signoff_needs_advisor -> Bool,
        signoff_needs_staff -> Bool,
    }
}

diesel::table! {
    sections (id) {
        id -> BigInt,
        questionnaire_id -> BigInt,
        position -> Integer,
        title -> Text,
        introduction -> Text,
        lock_version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    questions (id) {
        id -> BigInt,
        questionnaire_id -> BigInt,
        section_id -> BigInt,
        position -> Integer,
        kind -> Text,
        text -> Text,
        help_text -> Text,
        required -> Bool,
        for_staff -> Bool,
        for_service_users -> Bool,
        for_carers -> Bool,
        wording_staff -> Text,
        wording_service_user -> Text,
        wording_carer -> Text,
        wording_easy_read -> Text,
        options -> Text,
        likert_not_applicable -> Bool,
        probes -> Text,
        system_level -> Nullable<Text>,
        provenance -> Text,
        show_if_question_id -> Nullable<BigInt>,
        show_if_answers -> Text,
        lock_version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    taxonomy_terms (id) {
        id -> BigInt,
        scheme -> Text,
        code -> Text,
        label -> Text,
        description -> Text,
        position -> Integer,
    }
}

diesel::table! {
    taxonomy_links (comb_term_id, tdf_term_id) {
        comb_term_id -> BigInt,
        tdf_term_id -> BigInt,
    }
}

diesel::table! {
    question_tags (question_id, term_id) {
        question_id -> BigInt,
        term_id -> BigInt,
    }
}

diesel::table! {
    comments (id) {
        id -> BigInt,
        questionnaire_id -> BigInt,
        object_type -> Text,
        object_id -> BigInt,
        parent_id -> Nullable<BigInt>,
        author_user_id -> BigInt,
        body -> Text,
        created_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
        resolved_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    questionnaire_sign_offs (id) {
        id -> BigInt,
        questionnaire_id -> BigInt,
        user_id -> BigInt,
        content_hash -> Text,
        signed_at -> Timestamp,
    }
}

diesel::table! {
    revisions (id) {
        id -> BigInt,
        object_type -> Text,
        object_id -> BigInt,
        questionnaire_id -> BigInt,
        author_user_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        reason -> Text,
        action -> Text,
        before -> Nullable<Text>,
        after -> Nullable<Text>,
    }
}

diesel::table! {
    questionnaire_versions (id) {
        id -> BigInt,
        questionnaire_id -> BigInt,
        version_number -> Integer,
        snapshot -> Text,
        content_hash -> Text,
        sign_offs -> Text,
        published_by -> BigInt,
        published_at -> Timestamp,
    }
}

diesel::table! {
    suggestions (id) {
        id -> BigInt,
        questionnaire_id -> BigInt,
        object_type -> Text,
        object_id -> BigInt,
        author_user_id -> BigInt,
        proposed -> Text,
        reason -> Text,
        based_on_lock_version -> Integer,
        status -> Text,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        decision_note -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    participants (id) {
        id -> BigInt,
        study_id -> BigInt,
        code -> Text,
        participant_group -> Text,
        service_area -> Text,
        system_level -> Text,
        tags -> Text,
        source -> Text,
        opted_out_at -> Nullable<Timestamp>,
        identity_erased_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        record_erased_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    participant_identities (participant_id) {
        participant_id -> BigInt,
        study_id -> BigInt,
        name -> Text,
        email -> Nullable<Text>,
        phone -> Text,
        communication_needs -> Text,
        preferred_mode -> Text,
    }
}

diesel::table! {
    participant_imports (id) {
        id -> BigInt,
        study_id -> BigInt,
        created_by -> BigInt,
        created_at -> Timestamp,
        accepted_rows -> Text,
        summary -> Text,
    }
}

diesel::table! {
    participations (id) {
        id -> BigInt,
        participant_id -> BigInt,
        questionnaire_id -> BigInt,
        version_id -> BigInt,
        campaign_id -> Nullable<BigInt>,
        closes_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        opened_at -> Nullable<Timestamp>,
        consented_at -> Nullable<Timestamp>,
        declined_at -> Nullable<Timestamp>,
        started_at -> Nullable<Timestamp>,
        completed_at -> Nullable<Timestamp>,
        withdrawn_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    link_tokens (id) {
        id -> BigInt,
        participation_id -> BigInt,
        purpose -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    open_links (id) {
        id -> BigInt,
        study_id -> BigInt,
        questionnaire_id -> BigInt,
        version_id -> BigInt,
        participant_group -> Text,
        token_hash -> Text,
        closes_at -> Timestamp,
        created_by -> BigInt,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    campaigns (id) {
        id -> BigInt,
        study_id -> BigInt,
        questionnaire_id -> BigInt,
        version_id -> BigInt,
        name -> Text,
        status -> Text,
        recipient_filter -> Text,
        invitation_subject -> Text,
        invitation_body -> Text,
        reminder_subject -> Text,
        reminder_body -> Text,
        reminder_days -> Text,
        contact -> Text,
        closes_at -> Timestamp,
        lock_version -> Integer,
        created_by -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        launched_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    campaign_recipients (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        participant_id -> BigInt,
        participation_id -> BigInt,
        invited_at -> Timestamp,
        reminders_queued -> Integer,
    }
}

diesel::table! {
    outbox_messages (id) {
        id -> BigInt,
        idempotency_key -> Text,
        message_id -> Text,
        kind -> Text,
        study_id -> Nullable<BigInt>,
        campaign_id -> Nullable<BigInt>,
        participation_id -> Nullable<BigInt>,
        to_address -> Nullable<Text>,
        subject -> Nullable<Text>,
        body_text -> Nullable<Text>,
        body_html -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(user_sessions -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(held_forms -> users (user_id));
diesel::joinable!(email_tokens -> users (user_id));
diesel::joinable!(audit_events -> users (actor_user_id));

diesel::joinable!(studies -> users (created_by));
diesel::joinable!(study_members -> studies (study_id));
diesel::joinable!(study_members -> users (user_id));
diesel::joinable!(study_invitations -> studies (study_id));
diesel::joinable!(questionnaires -> studies (study_id));
diesel::joinable!(sections -> questionnaires (questionnaire_id));
diesel::joinable!(questions -> sections (section_id));
diesel::joinable!(question_tags -> questions (question_id));
diesel::joinable!(question_tags -> taxonomy_terms (term_id));
diesel::joinable!(comments -> questionnaires (questionnaire_id));
diesel::joinable!(comments -> users (author_user_id));
diesel::joinable!(revisions -> users (author_user_id));
diesel::joinable!(revisions -> questionnaires (questionnaire_id));
diesel::joinable!(questionnaire_sign_offs -> questionnaires (questionnaire_id));
diesel::joinable!(questionnaire_sign_offs -> users (user_id));
diesel::joinable!(questionnaire_versions -> questionnaires (questionnaire_id));
diesel::joinable!(questionnaire_versions -> users (published_by));
diesel::joinable!(suggestions -> questionnaires (questionnaire_id));
diesel::joinable!(suggestions -> users (author_user_id));

diesel::joinable!(participants -> studies (study_id));
diesel::joinable!(participant_identities -> participants (participant_id));
diesel::joinable!(participant_imports -> studies (study_id));
diesel::joinable!(participations -> participants (participant_id));
diesel::joinable!(participations -> questionnaires (questionnaire_id));
diesel::joinable!(participations -> questionnaire_versions (version_id));
diesel::joinable!(link_tokens -> participations (participation_id));
diesel::joinable!(open_links -> questionnaires (questionnaire_id));
diesel::joinable!(campaigns -> questionnaires (questionnaire_id));
diesel::joinable!(campaigns -> questionnaire_versions (version_id));
diesel::joinable!(campaign_recipients -> campaigns (campaign_id));
diesel::joinable!(campaign_recipients -> participants (participant_id));
diesel::joinable!(campaign_recipients -> participations (participation_id));
diesel::joinable!(outbox_messages -> participations (participation_id));

diesel::table! {
    consent_records (id) {
        id -> BigInt,
        participation_id -> BigInt,
        revision -> Integer,
        version_id -> BigInt,
        information_hash -> Text,
        statements -> Text,
        decision -> Text,
        method -> Text,
        recorded_by -> Nullable<BigInt>,
        recorded_at -> Timestamp,
        withdrawn_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    responses (id) {
        id -> BigInt,
        participation_id -> Nullable<BigInt>,
        participant_id -> Nullable<BigInt>,
        study_id -> BigInt,
        questionnaire_id -> BigInt,
        version_id -> BigInt,
        mode -> Text,
        audience -> Text,
        participant_group -> Text,
        service_area -> Text,
        system_level -> Text,
        page -> Integer,
        started_at -> Timestamp,
        updated_at -> Timestamp,
        submitted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    answers (id) {
        id -> BigInt,
        response_id -> BigInt,
        question_id -> BigInt,
        value -> Text,
        skipped -> Bool,
        updated_at -> Timestamp,
        notes -> Text,
        status -> Text,
        elapsed_seconds -> Integer,
        revision -> Integer,
    }
}

diesel::table! {
    interviews (id) {
        id -> BigInt,
        study_id -> BigInt,
        participation_id -> BigInt,
        interviewer_id -> BigInt,
        note_taker_id -> Nullable<BigInt>,
        scheduled_at -> Timestamp,
        mode -> Text,
        status -> Text,
        response_id -> Nullable<BigInt>,
        started_at -> Nullable<Timestamp>,
        paused_at -> Nullable<Timestamp>,
        paused_seconds -> Integer,
        ended_at -> Nullable<Timestamp>,
        field_notes -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    interview_moments (id) {
        id -> BigInt,
        interview_id -> BigInt,
        client_key -> Text,
        kind -> Text,
        question_id -> Nullable<BigInt>,
        elapsed_seconds -> Integer,
        body -> Text,
        created_by -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    interview_follow_ups (id) {
        id -> BigInt,
        interview_id -> BigInt,
        assigned_to -> BigInt,
        reason -> Text,
        created_at -> Timestamp,
        done_at -> Nullable<Timestamp>,
        done_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    interview_edits (id) {
        id -> BigInt,
        interview_id -> BigInt,
        question_id -> Nullable<BigInt>,
        field -> Text,
        old_text -> Text,
        new_text -> Text,
        edited_by -> BigInt,
        edited_at -> Timestamp,
    }
}

diesel::table! {
    codes (id) {
        id -> BigInt,
        study_id -> BigInt,
        parent_id -> Nullable<BigInt>,
        name -> Text,
        definition -> Text,
        inclusion -> Text,
        exclusion -> Text,
        example -> Text,
        colour -> Text,
        comb -> Text,
        tdf -> Text,
        branch -> Text,
        position -> Integer,
        merged_into -> Nullable<BigInt>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    code_changes (id) {
        id -> BigInt,
        study_id -> BigInt,
        version -> Integer,
        code_id -> BigInt,
        action -> Text,
        old_fields -> Text,
        new_fields -> Text,
        changed_by -> Nullable<BigInt>,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    codings (id) {
        id -> BigInt,
        study_id -> BigInt,
        answer_id -> BigInt,
        field -> Text,
        start_char -> Integer,
        end_char -> Integer,
        quote -> Text,
        code_id -> BigInt,
        valence -> Text,
        coder_id -> BigInt,
        quote_approved_by -> Nullable<BigInt>,
        quote_approved_at -> Nullable<Timestamp>,
        round_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    coding_rounds (id) {
        id -> BigInt,
        study_id -> BigInt,
        name -> Text,
        unit -> Text,
        first_coder_id -> BigInt,
        second_coder_id -> BigInt,
        created_by -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    coding_round_sources (round_id, answer_id) {
        round_id -> BigInt,
        answer_id -> BigInt,
    }
}

diesel::table! {
    round_consensus (id) {
        id -> BigInt,
        round_id -> BigInt,
        answer_id -> BigInt,
        field -> Text,
        code_id -> BigInt,
        decision -> Text,
        note -> Text,
        decided_by -> BigInt,
        decided_at -> Timestamp,
    }
}

diesel::table! {
    memos (id) {
        id -> BigInt,
        study_id -> BigInt,
        subject -> Text,
        subject_id -> Nullable<BigInt>,
        body -> Text,
        author_id -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    beliefs (id) {
        id -> BigInt,
        study_id -> BigInt,
        code_id -> BigInt,
        statement -> Text,
        created_by -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    belief_passages (belief_id, coding_id) {
        belief_id -> BigInt,
        coding_id -> BigInt,
    }
}

diesel::table! {
    matrix_summaries (id) {
        id -> BigInt,
        study_id -> BigInt,
        row_key -> Text,
        column_key -> Text,
        body -> Text,
        updated_by -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(consent_records -> participations (participation_id));
diesel::joinable!(code_changes -> codes (code_id));
diesel::joinable!(codings -> answers (answer_id));
diesel::joinable!(codings -> codes (code_id));
diesel::joinable!(coding_round_sources -> coding_rounds (round_id));
diesel::joinable!(coding_round_sources -> answers (answer_id));
diesel::joinable!(belief_passages -> beliefs (belief_id));
diesel::joinable!(belief_passages -> codings (coding_id));
diesel::joinable!(answers -> responses (response_id));
diesel::joinable!(interviews -> participations (participation_id));
diesel::joinable!(interviews -> studies (study_id));
diesel::joinable!(interview_moments -> interviews (interview_id));
diesel::joinable!(interview_follow_ups -> interviews (interview_id));
diesel::joinable!(interview_edits -> interviews (interview_id));

diesel::table! {
    improvement_projects (id) {
        id -> BigInt,
        study_id -> BigInt,
        name -> Text,
        service -> Text,
        team -> Text,
        started_on -> Date,
        closed_on -> Nullable<Date>,
        stage_reached -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    project_stages (id) {
        id -> BigInt,
        project_id -> BigInt,
        stage -> Text,
        reached_on -> Date,
        involvement_level -> Text,
        suc_core_members -> Integer,
        decisions_influenced -> Text,
        feedback_given -> Text,
        recorded_by -> Nullable<BigInt>,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    tracker_rules (study_id) {
        study_id -> BigInt,
        meaningful_from -> Text,
        min_core_members -> Integer,
        min_influences -> Integer,
        min_level -> Text,
        target_percent -> Integer,
        updated_by -> Nullable<BigInt>,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(project_stages -> improvement_projects (project_id));

diesel::table! {
    retention_schedules (study_id) {
        study_id -> BigInt,
        identities_months -> Integer,
        responses_months -> Integer,
        interview_notes_months -> Integer,
        consent_months -> Integer,
        audit_months -> Integer,
        updated_by -> Nullable<BigInt>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    retention_reviews (id) {
        id -> BigInt,
        study_id -> BigInt,
        review_day -> Date,
        found_at -> Timestamp,
        items -> Text,
        status -> Text,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    readiness_probe (id) {
        id -> BigInt,
        checked_at -> Timestamp,
    }
}

diesel::table! {
    organisation (id) {
        id -> BigInt,
        name -> Text,
        logo -> Nullable<Binary>,
        logo_type -> Text,
        privacy_url -> Text,
        privacy_text -> Text,
        contact_email -> Text,
        contact_phone -> Text,
        mail_checked_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    users,
    user_sessions,
    recovery_codes,
    held_forms,
    study_invitations,
    api_tokens,
    email_tokens,
    login_failures,
    audit_events,
    studies,
    study_members,
    questionnaires,
    sections,
    questions,
    taxonomy_terms,
    taxonomy_links,
    question_tags,
    comments,
    revisions,
    questionnaire_sign_offs,
    questionnaire_versions,
    suggestions,
    participants,
    participant_identities,
    participant_imports,
    participations,
    link_tokens,
    open_links,
    campaigns,
    campaign_recipients,
    outbox_messages,
    consent_records,
    responses,
    answers,
    interviews,
    interview_moments,
    interview_follow_ups,
    interview_edits,
    codes,
    code_changes,
    codings,
    coding_rounds,
    coding_round_sources,
    round_consensus,
    memos,
    beliefs,
    belief_passages,
    matrix_summaries,
    improvement_projects,
    project_stages,
    tracker_rules,
    retention_schedules,
    retention_reviews,
);
