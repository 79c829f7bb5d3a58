; Inno Setup 6 script: the Windows installer for the one-folder app.
; Built by `python packaging\build.py --installer`, which passes:
;   iscc /DAppVersion=0.1.0 /DAppDir=dist\clipdesk /DIconFile=build\clipdesk-icons\clipdesk.ico
;        /Odist packaging\windows\clipdesk.iss
; Installs per user by default (no administrator rights needed); the setup offers an
; all-users install too. Libraries, settings and models in %LOCALAPPDATA%\clipdesk stay
; when clipdesk is uninstalled.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef AppDir
  #define AppDir "..\..\dist\clipdesk"
#endif
#ifndef IconFile
  #define IconFile "..\..\build\clipdesk-icons\clipdesk.ico"
#endif

[Setup]
AppId={{2ADF6538-B10E-4DE0-B967-79674FA50A78}
AppName=clipdesk
AppVersion={#AppVersion}
AppVerName=clipdesk {#AppVersion}
AppPublisher=clipdesk
AppComments=Search your own photos by what is in them, on this computer.
DefaultDirName={autopf}\clipdesk
DefaultGroupName=clipdesk
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputBaseFilename=clipdesk-{#AppVersion}-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\clipdesk-gui.exe
UninstallDisplayName=clipdesk
Compression=lzma2/max
SolidCompression=yes
LZMANumBlockThreads=4
WizardStyle=modern
ChangesEnvironment=yes
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "addtopath"; Description: "Add clipdesk to PATH (to use it from a terminal)"; Flags: unchecked

[Files]
Source: "{#AppDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; A new version replaces the previous one's libraries completely.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\clipdesk"; Filename: "{app}\clipdesk-gui.exe"; Comment: "Search your photos"
Name: "{autodesktop}\clipdesk"; Filename: "{app}\clipdesk-gui.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\clipdesk-gui.exe"; Description: "{cm:LaunchProgram,clipdesk}"; Flags: nowait postinstall skipifsilent

[Code]
const
  EnvKeyUser = 'Environment';
  EnvKeyMachine = 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment';

function EnvRoot(): Integer;
begin
  if IsAdminInstallMode() then Result := HKEY_LOCAL_MACHINE else Result := HKEY_CURRENT_USER;
end;

function EnvKey(): String;
begin
  if IsAdminInstallMode() then Result := EnvKeyMachine else Result := EnvKeyUser;
end;

function PathHas(Paths, Dir: String): Boolean;
begin
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Paths) + ';') > 0;
end;

procedure CurStepChanged(CurStep: TSetupStep);
var
  Paths: String;
begin
  if (CurStep = ssPostInstall) and WizardIsTaskSelected('addtopath') then
  begin
    if not RegQueryStringValue(EnvRoot(), EnvKey(), 'Path', Paths) then Paths := '';
    if not PathHas(Paths, ExpandConstant('{app}')) then
    begin
      if (Paths <> '') and (Copy(Paths, Length(Paths), 1) <> ';') then Paths := Paths + ';';
      RegWriteExpandStringValue(EnvRoot(), EnvKey(), 'Path', Paths + ExpandConstant('{app}'));
    end;
  end;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  Paths, Dir: String;
  P: Integer;
begin
  if CurUninstallStep <> usPostUninstall then Exit;
  if not RegQueryStringValue(EnvRoot(), EnvKey(), 'Path', Paths) then Exit;
  Dir := ExpandConstant('{app}');
  P := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Paths) + ';');
  if P = 0 then Exit;
  Delete(Paths, P, Length(Dir) + 1);
  RegWriteExpandStringValue(EnvRoot(), EnvKey(), 'Path', Paths);
end;
