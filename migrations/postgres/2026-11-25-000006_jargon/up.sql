-- Each study keeps its own list of words to avoid in participant-facing text (a JSON array of strings),
-- seeded with the jargon of improvement work that advisors asked to be flagged.
ALTER TABLE studies ADD COLUMN jargon TEXT NOT NULL DEFAULT '["QI","PDSA","COM-B","stakeholder","stakeholders","metrics","cohort","co-production","KPI","pathway","service user engagement","evidence base","governance","deliverables","intervention"]';
