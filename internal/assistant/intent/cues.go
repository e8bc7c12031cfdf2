package intent

// cue is a set of phrases that signal a kind of question or a slot value.
// Phrases are normalized like questions (lower case, plurals stemmed), and
// the longest phrase that matches at a position wins.
type cue struct {
	concepts []string
	phrases  []string
}

var cues = []cue{
	{[]string{"cue:greet"}, []string{"hi", "hello", "helo", "hey", "hiya", "howdy", "greetings", "good morning", "good afternoon", "good evening", "hallo", "yo", "hi there", "hello there", "morning", "afternoon", "evening", "good day"}},
	{[]string{"cue:thanks"}, []string{"thank u so much", "thanks so much", "thank you so much", "thank you very much", "thanks very much", "thanks a bunch", "many thanks", "that helps", "that helped", "helpful", "very helpful", "that was helpful", "that is helpful", "ta", "ta very much", "thank u", "thanks a lot", "much obliged", "thanks", "thank you", "thx", "ty", "cheers", "much appreciated", "appreciate it", "great thanks", "perfect", "brilliant", "cool", "got it", "ok thanks", "awesome"}},
	// Acknowledgements that are thanks when nothing about the photo is
	// named ("very clear, thank you") and a quality remark when it is
	// ("is the photo very clear?"): decided in decide.
	{[]string{"cue:ack"}, []string{"very clear", "thats clear", "that is clear", "all clear", "crystal clear", "clear now", "makes sense", "that makes sense", "understood"}},
	// "what can you tell me about …": help alone, the overview about the
	// photo itself, else the topic named.
	{[]string{"cue:help", "cue:tellabout"}, []string{"what can you tell me about", "can you tell me about", "what can you say about"}},
	// Ways to ask whether something is as it should be (with a whole-eye
	// word: the "abnormal" judgement).
	{[]string{"cue:normality"}, []string{"as it should be", "as it should", "in order", "all right", "alright", "good or no", "good or not", "in good shape", "in good health"}},
	{[]string{"cue:bye"}, []string{"bye", "goodbye", "good bye", "see you", "see ya", "farewell", "that is all", "thats all", "im done", "i am done"}},
	{[]string{"cue:help"}, []string{"what thing can i ask", "what thing can you", "what kind of info", "what sort of info", "what type of info", "what info can you", "what information can you", "what kind of information", "what can you give me", "how this work", "how this thing work", "how does this thing work", "how does this all work", "how does all this work", "how do this work", "any tip", "tip", "feature", "your feature", "list your", "what are you supposed to do", "what are you for", "do you know about", "what do you know about", "what sort of thing", "what kind of thing do you", "what topics", "what kind of question", "what type of question", "what sort of question", "thing you can do", "list of thing", "where to start", "where do i start", "where should i start", "how do i start", "get started", "getting started", "help", "what can you do", "what can i ask", "what do you do", "how does this work", "what are you", "who are you",
		"what questions", "what can you tell me", "capabilities", "how do i use", "how to use", "usage", "commands", "what do you know", "instructions", "menu", "what are my options", "what else can you", "can you answer", "what to ask", "what should i ask", "what sort of thing can you", "what kind of thing can you", "what are you able to"}},
	{[]string{"cue:modality"}, []string{"real retina photo", "real retina photograph", "real retinal photo", "real retinal photograph", "real fundus", "real eye photo", "real photo", "genuine", "red free", "red-free", "jpg", "jpeg", "png", "tiff", "file type", "what format", "format", "type of retinal image", "kind of retinal image", "sort of retinal image", "type of retinal photo", "kind of retinal photo", "retinal image type", "modality", "kind of image", "kind of photo", "kind of picture", "kind of scan", "type of image", "type of photo",
		"type of picture", "type of scan", "sort of image", "sort of photo", "what is this image", "what image is this", "what is this picture",
		"what is this photo", "what is this a photo of", "what is this a picture of", "looking at", "imaging", "image type", "photo type",
		"fundus photo", "fundus photograph", "fundus image", "colour photo", "color photo", "colour fundus", "color fundus", "oct", "angiogram", "angiography",
		"fluorescein", "what camera", "which camera", "file format", "image format", "resolution", "image size", "how big is the image", "dimensions", "what was captured", "type of exam", "kind of exam", "which exam", "camera", "retinal camera", "fundus camera", "what kind of eye image", "what type of eye image", "what kind of eye photo", "where is this image from"}},
	{[]string{"cue:quality"}, []string{"glare", "reflection", "photo any good", "image any good", "picture any good", "haze", "hazy", "reshoot", "re shoot", "retake it", "gradeable", "ungradeable", "exposed", "well exposed", "poorly exposed", "lighting", "illumination", "illuminated", "lit", "quality", "quality grade", "image grade", "blurry", "blur", "blurred", "sharp", "in focus", "out of focus", "focus", "usable", "gradable", "ungradable", "good enough",
		"clear", "clarity", "exposure", "too dark", "too bright", "underexposed", "overexposed", "artefact", "artifact", "noisy", "noise", "retake", "readable",
		"well taken", "cropped", "clipped", "cut off", "field of view", "fov", "coverage", "reliable", "trustworthy", "trust", "can you read", "decent photo", "image good", "photo good", "picture good", "properly taken", "acceptable", "taken properly", "taken correctly", "taken well", "photographed properly", "good shot", "bad shot"}},
	{[]string{"cue:overview"}, []string{"sum up", "sum it up", "sum it all up", "sum everything up", "summing up", "tl dr", "tldr", "short version", "in short", "the gist", "gist", "give me the gist", "key finding", "the full report", "full report", "verdict", "the verdict", "overall verdict", "bottom line", "conclusion", "conclusions", "summary", "summarize", "summarise", "overview", "findings", "what did you find", "what do you see", "what can you see",
		"tell me about this image", "tell me about the image", "tell me about this photo", "tell me about the photo", "tell me about this picture", "tell me about my eye",
		"tell me about my retina", "results", "result", "report", "anything wrong", "describe", "main findings", "big picture", "everything", "the whole report",
		"what does the image show", "what does it show", "what does the photo show", "what did the analysis show", "analysis", "give me the rundown", "rundown", "key points", "key numbers", "all the numbers", "all measurements", "how does my eye look", "how does the eye look", "how is my eye", "how is the eye", "how is my retina", "how does the retina look", "in a nutshell", "brief", "recap", "overall picture", "overall impression", "overall findings", "overall result", "overall results", "overall assessment"}},
	{[]string{"cue:explain"}, []string{"in simple word", "in simpler word", "simple word", "simpler word", "in simpler terms", "simpler terms", "simple terms", "in plain word", "plain word", "plain language", "in lay terms", "lay terms", "laymans terms", "put simply", "simply put", "eli5", "in simple language", "simpler", "dumb it down", "mean", "meaning", "means", "define", "definition", "explain", "explanation", "stand for", "stands for", "understand",
		"what is meant by", "in plain english", "in simple terms", "in layman terms", "layman", "what exactly is", "tell me what", "how is it measured", "how is that measured",
		"how was it measured", "how do you measure", "how did you measure", "how do you calculate", "how did you calculate", "how is it calculated", "how was it calculated", "calculated", "computed", "formula", "method", "what is that",
		"how is this measured", "how was this measured", "how do you compute", "refers to", "refer to", "never heard of", "what does that mean", "what does this mean", "in other words", "what is meant", "how does it work"}},
	{[]string{"cue:whatis"}, []string{"what is", "whats", "what s", "what does", "what do", "what are", "what re"}},
	{[]string{"cue:whatisa"}, []string{"what is a", "what is an", "whats a", "whats an", "what are a", "what s a"}},
	{[]string{"cue:interpret"}, []string{"a good number", "good number", "is that a good", "is this a good", "is it a good", "good sign", "bad sign", "good value", "above average", "below average", "better than average", "worse than average", "higher than average", "lower than average", "above normal", "below normal", "narrow", "normal", "abnormal", "bad", "worry", "worried", "worrying", "concerning", "concern", "healthy", "unhealthy",
		"serious", "dangerous", "too high", "too low", "high", "low", "elevated", "reduced", "typical", "usual", "unusual", "range", "reference",
		"problem", "alarming", "good or bad", "is that good", "is this good", "is it good", "is it ok", "is that ok", "is this ok", "is it okay", "is that okay", "is that fine", "is it fine", "am i ok", "am i okay", "everything ok", "everything okay", "expected", "within limits",
		"out of range", "should i be", "a problem", "significant", "matter", "compare", "compared", "comparison", "average person", "healthy people",
		"what does that say", "what does that tell", "what does it tell", "what does it say", "implication", "implications", "safe", "too", "cause for", "alarm", "scary", "is that a lot", "too much", "too little", "wrong", "something wrong", "something is wrong"}},
	{[]string{"cue:next"}, []string{"what should the patient do", "what should my patient do", "what should he do", "what should she do", "what should we do", "what should they do", "how soon should", "how soon", "get this checked", "get it checked", "get checked", "get my eye checked", "get my eyes checked", "be checked", "next eye exam", "next exam", "eye exam", "eye test", "next check", "check up", "checkup", "come back", "rescreen", "re screen", "how often should i", "what should i do", "what do i do", "what do i need to do", "next step", "next steps", "see a doctor", "see an ophthalmologist",
		"see an optometrist", "see a specialist", "referral", "refer", "referred", "treatment", "treat", "treated", "appointment", "urgent", "emergency",
		"hospital", "what now", "recommend", "recommendation", "advice", "advise", "should i see", "do i need", "follow up", "followup", "cure", "medication",
		"medicine", "glasses", "what happens next", "what next", "who should i", "eye doctor", "doctor", "clinic", "action", "do next"}},
	{[]string{"cue:where"}, []string{"superior or inferior", "inferior or superior", "nasal or temporal", "temporal or nasal", "upper or lower", "lower or upper", "top or bottom", "point to", "point it out", "point out", "show me where", "where", "location", "locate", "located", "position", "positioned", "which part", "whereabouts", "coordinate",
		"coordinates", "box", "boxes", "bounding box", "bounding boxes", "which quadrant", "quadrant", "which area", "which region", "which side", "how far", "distance from the fovea"}},
	{[]string{"cue:more"}, []string{"go deeper", "dig deeper", "in depth", "in more depth", "more depth", "in detail", "further detail", "drill down", "tell me more", "more detail", "more details", "in more detail", "go on", "elaborate", "continue", "more info", "more information", "anything else", "what else", "keep going", "expand on"}},
	{[]string{"cue:followup"}, []string{"as well", "same but", "same but for", "but for", "the same for", "same with", "same again for", "and", "what about", "how about", "across", "also", "same for", "same thing for", "now", "then", "instead", "versus", "vs"}},
	{[]string{"cue:why"}, []string{"whats the evidence", "what is the evidence", "the evidence for", "evidence for that", "evidence for this", "evidence for it", "what is the basis", "why", "how come", "why do you say", "what makes you say", "what makes you think", "based on what", "on what basis", "what is that based on", "what is it based on", "what evidence", "which evidence", "reason", "reasons", "reasoning"}},
	{[]string{"cue:this"}, []string{"that", "this", "it", "those", "these", "them"}},
	{[]string{"cue:disc"}, []string{"optic disc", "optic disk", "disc", "disk", "optic nerve", "nerve head", "optic nerve head", "onh", "papilla", "cup", "optic cup", "neuroretinal", "nerve"}},
	{[]string{"cue:vessel"}, []string{"vessel", "blood vessel", "vasculature", "vascular", "vascular tree", "circulation", "blood flow", "vessel tree", "vascular measure", "biomarker", "capillary", "vessel network", "retinal vessel", "branching"}},
	{[]string{"cue:calibre"}, []string{"narrower", "wider than", "thinner than", "calibre", "caliber", "central retinal", "equivalent", "knudtson", "hubbard", "vessel diameter summary", "narrowing", "narrowed", "narrow", "nicking", "av nicking"}},
	{[]string{"cue:lesion"}, []string{"lesion", "spot", "dot", "abnormality", "abnormalities", "bleed", "bleeding", "blot", "deposit", "patches", "patch",
		"marks", "mark", "anything abnormal", "pathology", "red spot", "yellow spot", "white spot", "bright spot", "dark spot", "leak", "leakage", "leaking"}},
	{[]string{"cue:disease"}, []string{"disease", "diseases", "diagnosis", "diagnose", "condition", "illness", "disorder", "sick", "grade", "grading", "stage", "staging", "severity", "pathology score", "have i got", "do i have", "does the patient have", "signs of", "sign of", "any signs", "screening", "screen"}},
	{[]string{"cue:anatomy"}, []string{"landmark", "landmarks", "anatomy", "anatomical"}},
	{[]string{"tree:artery"}, []string{"artery", "arteries", "arterial", "arteriole", "arterioles", "arteriolar", "red vessel", "arterie", "arterys"}},
	{[]string{"tree:vein"}, []string{"vein", "veins", "venous", "venule", "venules", "venular", "blue vessel"}},
	{[]string{"tree:all"}, []string{"all vessels", "all the vessels", "every vessel", "whole tree", "whole vessel tree", "combined", "both trees", "both", "all of them"}},
	{[]string{"tree:all", "zone:whole"}, []string{"overall", "in total", "in general"}},
	{[]string{"zone:B"}, []string{"zone b", "b zone", "zone-b", "ring b", "zoneb", "zone bee"}},
	{[]string{"zone:C"}, []string{"zone c", "c zone", "zone-c", "ring c", "zonec", "zone see"}},
	{[]string{"zone:whole"}, []string{"whole image", "entire image", "whole photo", "entire photo", "whole fov", "whole field", "entire field", "whole retina", "entire retina", "everywhere", "globally", "the whole thing"}},
	{[]string{"cue:oos"}, []string{"schedule me", "can you schedule", "reschedule", "mile", "kilometre", "kilometer", "book me", "make me an appointment", "call my doctor", "weather", "recipe", "joke", "stock", "stocks", "football", "soccer", "movie", "film", "poem", "song", "president",
		"capital of", "bitcoin", "crypto", "python", "javascript", "translate", "pizza", "restaurant", "flight", "hotel", "lottery", "horoscope",
		"gold", "cook", "cooking", "weekend", "homework", "election", "sports", "game", "chess", "write me", "email", "tax", "taxes", "meaning of life", "girlfriend", "boyfriend", "dog", "cat", "car", "knee", "tooth", "teeth", "heart rate", "blood test", "cholesterol", "skin", "rash", "mole", "lungs", "lung", "kidney", "xray", "x ray", "mri", "ct scan"}},
}

// commonWords are words the recognizer never "corrects" into a known term.
const commonWords = `a about above after again against all also am an and any anyone are around as at be because been before being below
between both but by can could did do does doing done down during each else even ever every few for from further get gets give go going
got had has have having he her here hers him his how however i if in into is it its just know let like look looks make many may me might
more most much must my myself need no nor not now of off often on once only or other our out over own please quite rather really said
same say see seen seem seems she should show shows so some something such tell than that the their them then there these they thing
things think this those through to too under until up upon us very want was way we well were what when where which while who whom why
will with would yes yet you your yours image photo picture scan eye eyes retina retinal fundus value values number numbers measure
measured measurement measurements size big small large wide left right top bottom side result results patient patients mine person
people doctor clinical look looked find found figure figures many few each per across along near far level levels score scores
give given show tell explain okay sure book booking across check checked thanks there their value exact exactly precise roughly approximately approx
anything nothing everything where else list one two three four five six seven eight nine ten first second third last next part parts
hold holds present risk convert conversion feature features tip tips info height tall short simple simpler plain deeper`
